/** The installed @sqlite.org/sqlite-wasm ships no types: its init function, loosely typed. */
declare module '@sqlite.org/sqlite-wasm' {
  const sqlite3InitModule: (options?: { print?: (...a: unknown[]) => void; printErr?: (...a: unknown[]) => void }) => Promise<any>;
  export default sqlite3InitModule;
}
