// Live time-series charts on uPlot (served from node_modules by the member itself). A chart keeps
// the last HISTORY_POINTS samples; its series (for example one per follower) may change over
// time: the chart is rebuilt when they do.
/* global uPlot */

const HISTORY_POINTS = 180;
const CHART_HEIGHT_PX = 180;
const PALETTE = ['#2f5fb3', '#b35c00', '#1a7f37', '#8e44ad', '#b42318', '#0e7490', '#6b7280'];

// biome-ignore lint/correctness/noUnusedVariables: used by app.js (plain scripts share globals)
class LiveChart {
  constructor(element, unit) {
    this.element = element;
    this.unit = unit;
    this.times = [];
    /** Series name → values aligned with times (null where the series had no value). */
    this.values = new Map();
    this.plot = null;
    this.plotted = '';
  }

  /** Adds one sample: time in ms, and a value per series name (missing = null). */
  push(atMs, sample) {
    for (const name of Object.keys(sample)) {
      if (!this.values.has(name))
        this.values.set(
          name,
          this.times.map(() => null),
        );
    }
    this.times.push(atMs / 1000);
    for (const [name, column] of this.values) column.push(sample[name] ?? null);
    if (this.times.length > HISTORY_POINTS) {
      this.times.shift();
      for (const column of this.values.values()) column.shift();
    }
    this.render();
  }

  render() {
    const names = [...this.values.keys()];
    const data = [this.times, ...names.map((name) => this.values.get(name))];
    const width = Math.max(300, this.element.clientWidth);
    if (this.plot === null || this.plotted !== names.join('|')) {
      if (this.plot !== null) this.plot.destroy();
      this.plot = new uPlot(this.options(names, width), data, this.element);
      this.plotted = names.join('|');
      return;
    }
    if (Math.abs(this.plot.width - width) > 2) this.plot.setSize({ width, height: CHART_HEIGHT_PX });
    this.plot.setData(data);
  }

  options(names, width) {
    return {
      width,
      height: CHART_HEIGHT_PX,
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [{}, { label: this.unit, size: 60 }],
      series: [
        {},
        ...names.map((name, i) => ({
          label: name,
          stroke: PALETTE[i % PALETTE.length],
          width: 2,
          spanGaps: false,
        })),
      ],
      legend: { show: true },
    };
  }
}
