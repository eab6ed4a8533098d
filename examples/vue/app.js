// Vue with jazz-elements: the page's <jazz-db> opens the database; Vue reads it live.
import { computed, createApp, onUnmounted, ref } from 'vue';

const el = document.querySelector('jazz-db');
await customElements.whenDefined('jazz-db');
await el.updateComplete;
const db = el.db;
const { todos: table } = db.app;

const app = createApp({
  setup() {
    const todos = ref([]);
    const title = ref('');
    // subscribeAll calls back with the whole result after every change: a ref holds it.
    const stop = db.subscribeAll(table.orderBy('title'), ({ all }) => (todos.value = all));
    onUnmounted(stop);
    const left = computed(() => todos.value.filter((t) => !t.done).length);
    const add = () => {
      if (title.value.trim()) db.insert(table, { title: title.value.trim() });
      title.value = '';
    };
    const toggle = (t) => db.update(table, t.id, { done: !t.done });
    return { todos, title, left, add, toggle };
  },
});
// <jazz-*> tags are custom elements, not Vue components.
app.config.compilerOptions.isCustomElement = (tag) => tag.startsWith('jazz-');
app.mount('#app');
window.vueApp = app;
