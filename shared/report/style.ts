/** The page's only stylesheet: system fonts, light and dark (`prefers-color-scheme`), and print. */
export const NIGHT_CSS = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1b1b;--muted:#5c5c5c;--line:#d0d0d0;--panel:#f5f6f8;
--ok:#1a7f37;--bad:#c62828;--warn:#9a6700;--idle:#6e7781;--run:#0a5bd3;--mark:#7b3fb0;--now:#d1242f;--crit:#b35900}
@media (prefers-color-scheme:dark){:root{--bg:#161b22;--fg:#e6edf3;--muted:#a0a8b2;--line:#3d444d;--panel:#1f262e;
--ok:#3fb950;--bad:#ff6b6b;--warn:#d29922;--idle:#8b949e;--run:#58a6ff;--mark:#c297ff;--now:#ff7b72;--crit:#f0883e}}
*{box-sizing:border-box}
body{margin:0;padding:1rem 1.25rem;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
h1{font-size:1.4rem;margin:.2rem 0 .4rem}h2{font-size:1.1rem;margin:1.4rem 0 .5rem;border-bottom:1px solid var(--line);padding-bottom:.2rem}
.muted{color:var(--muted)}
a{color:var(--run)}a:focus,[tabindex]:focus{outline:3px solid var(--run);outline-offset:2px}
.badge{display:inline-block;white-space:nowrap;padding:.05rem .5rem;border-radius:.7rem;
border:1px solid currentColor;font-weight:600;font-size:.85rem}
.mark{color:var(--mark)}.ok{color:var(--ok)}.bad{color:var(--bad)}.warn{color:var(--warn)}.idle{color:var(--idle)}.run{color:var(--run)}
.verdict{padding:.7rem 1rem;border-radius:.4rem;border:2px solid currentColor;background:var(--panel)}
.verdict p{margin:.2rem 0;color:var(--fg)}
.verdict ol{color:var(--fg);margin:.4rem 0 .2rem}
table{border-collapse:collapse;width:100%;margin:.3rem 0 .6rem}
caption{text-align:left}
th,td{text-align:left;vertical-align:top;padding:.25rem .5rem;border-bottom:1px solid var(--line)}
th{background:var(--panel);font-weight:600}
code{font-size:.9em}
svg{width:100%;height:auto;display:block;background:var(--panel);border-radius:.4rem}
svg text{fill:var(--fg);font:11px system-ui,sans-serif}
svg .axis{stroke:var(--line)}svg .grid{stroke:var(--line);stroke-dasharray:2 3}
svg .mark{stroke:var(--mark);stroke-dasharray:4 3}svg text.mark{fill:var(--mark);stroke:none}
svg .now{stroke:var(--now);stroke-width:2}svg text.now{fill:var(--now);stroke:none}
svg .bar.ok{fill:var(--ok)}svg .bar.bad{fill:var(--bad)}svg .bar.warn{fill:var(--warn)}
svg .bar.idle{fill:var(--idle)}svg .bar.run{fill:var(--run)}
svg .bar{fill-opacity:.85}svg .crit{stroke:var(--crit);stroke-width:3}
svg .back{stroke:var(--fg);stroke-width:2}
svg g[tabindex]:focus{outline:none}svg g[tabindex]:focus rect{stroke:var(--run);stroke-width:3}
.legend{display:flex;flex-wrap:wrap;gap:1rem;margin:.3rem 0;font-size:.85rem}
@media print{:root{--bg:#fff;--fg:#000;--muted:#333;--panel:#fff;--line:#999}body{padding:0;font-size:11px}
a{color:#000;text-decoration:none}a[href]::after{content:" (" attr(href) ")";font-size:.8em}
h2{break-after:avoid}table,svg,.verdict{break-inside:avoid}svg{background:#fff;border:1px solid #999}}
`;
