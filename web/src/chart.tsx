import { Chart, registerables, type ChartConfiguration } from 'chart.js';
import { useEffect, useRef } from 'preact/hooks';

Chart.register(...registerables);

/** A Chart.js chart; `label` is what a screen reader hears (the numbers are also in a table beside it). */
export function ChartView({ config, label }: { config: ChartConfiguration; label: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const chart = new Chart(canvas.current!, { ...config, options: { animation: false, maintainAspectRatio: false, ...config.options } });
    return () => chart.destroy();
  }, [JSON.stringify(config.data)]);
  return (
    <div style={{ position: 'relative', height: '220px' }}>
      <canvas ref={canvas} role="img" aria-label={label} />
    </div>
  );
}
