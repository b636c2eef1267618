/** The night report: its model and its one renderer (pure: imports nothing outside shared/report and shared/core). */
export * from './model';
export { renderNightHtml, renderNightParts } from './render';
