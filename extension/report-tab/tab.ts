// The results tab's script, bundled by extension/build.mjs into dist/report-tab/tab.js.
import * as SDK from 'azure-devops-extension-sdk';
import { startTab, type TabSdk } from './host';

void startTab({ sdk: SDK as unknown as TabSdk, fetch: window.fetch.bind(window), document });
