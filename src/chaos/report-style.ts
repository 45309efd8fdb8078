// The report's stylesheet, inlined into the page so the file stands alone. Outcome colours are
// shared by the charts, the legend and the tables: ok green, fail grey, info amber, blamed red.

export const REPORT_CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1260px;
  padding: 16px 24px 40px; color: #1f2328; background: #fff; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #d8dee4; padding-bottom: 4px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { text-align: left; padding: 3px 10px 3px 0; vertical-align: top; }
thead th { border-bottom: 1px solid #d8dee4; }
table.params th { color: #59636e; font-weight: 600; padding-right: 18px; }
table.operations td, table.faults td { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace;
  font-size: 12px; max-width: 360px; overflow-wrap: anywhere; }
table.operations tbody tr:nth-child(odd), table.checks tbody tr:nth-child(odd) { background: #f6f8fa; }
.verdict { border-radius: 8px; padding: 14px 20px; color: #fff; }
.verdict.valid { background: #1a7f37; }
.verdict.invalid { background: #cf222e; }
.verdict.unknown { background: #bf8700; }
.verdict-word { font-size: 30px; font-weight: 700; letter-spacing: 0.5px; }
.verdict-line { font-size: 16px; margin-top: 2px; overflow-wrap: anywhere; }
.unsafe { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 8px 12px; }
.badge { display: inline-block; border-radius: 10px; padding: 0 8px; color: #fff; font-weight: 600; }
.badge.valid { background: #1a7f37; }
.badge.invalid { background: #cf222e; }
.badge.unknown { background: #bf8700; }
.failure { border-left: 4px solid #cf222e; padding-left: 14px; }
pre.explanation { background: #fff0ee; border: 1px solid #ffcecb; border-radius: 6px; padding: 10px;
  white-space: pre-wrap; overflow-wrap: anywhere; font-size: 12px; }
.note, footer { color: #59636e; font-size: 12px; }
.scroll { overflow-x: auto; }
.legend { font-size: 12px; color: #59636e; }
.swatch { display: inline-block; width: 14px; height: 10px; margin: 0 4px 0 10px; vertical-align: middle; }
.swatch.ok { background: #2da44e; }
.swatch.fail { background: #8c959f; }
.swatch.info { background: repeating-linear-gradient(45deg, #e0a100 0 2px, #fbefcc 2px 5px); }
.swatch.blamed { border: 2px solid #cf222e; width: 10px; height: 6px; }
.swatch.fault { background: rgba(126, 87, 194, 0.2); }
svg.chart { display: block; font: 11px system-ui, sans-serif; }
svg .stripe { fill: #f6f8fa; }
svg .grid { stroke: #d8dee4; stroke-width: 1; }
svg .tick, svg .row-label { fill: #59636e; }
svg .fault { fill-opacity: 0.13; }
svg .fault-label { font-weight: 600; }
svg .bar.ok { fill: #2da44e; }
svg .bar.fail { fill: #8c959f; }
svg .bar.info { fill: #e0a100; }
svg .bar.indefinite { fill: url(#hatch); opacity: 0.75; }
svg .bar.blamed { stroke: #cf222e; stroke-width: 2; }
svg .point { fill: #2da44e; fill-opacity: 0.55; }
svg .empty { fill: #59636e; }
`;
