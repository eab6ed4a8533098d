// Svelte with jazz-elements: the page's <jazz-db> (defined by jazz.js, loaded by index.html as it
// is) opens the database; the component reads it live.
import { mount } from 'svelte';
import App from './App.svelte';

const el = document.querySelector('jazz-db');
await customElements.whenDefined('jazz-db');
await el.updateComplete;
mount(App, { target: document.getElementById('app'), props: { db: el.db } });
