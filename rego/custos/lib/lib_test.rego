package custos.lib_test

import data.custos.lib

test_date_of_epoch_seconds if {
	lib.date(0) == "1970-01-01"
	lib.date(86399) == "1970-01-01"
	lib.date(86400) == "1970-01-02"
	lib.date(951782400) == "2000-02-29"
	lib.date(951868800) == "2000-03-01"
	lib.date(1750000000) == "2025-06-15"
	lib.date(1767225599) == "2025-12-31"
	lib.date(1767225600) == "2026-01-01"
	lib.date(1767225600.5) == "2026-01-01"
}

test_a_violation_after_a_time_holds_only_later if {
	chain := [{"path": ["custos", "rules", "x"], "annotations": {"scope": "package", "title": "t", "custom": {"id": "x", "severity": "low", "controls": [], "resource_types": ["T"]}}}]
	v := lib.violation_after(chain, {"type": "T", "id": "r"}, "m", 100)
	v.violates_after == 100
	not lib.holds(v, 99)
	not lib.holds(v, 100)
	lib.holds(v, 101)
	lib.holds(lib.violation(chain, {"type": "T", "id": "r"}, "m"), 0)
}
