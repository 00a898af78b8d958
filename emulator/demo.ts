/** Workspaces the emulator starts with for `npm start` and `npm run emulator`. */
export const DEMO_WORKSPACES: Array<{ id: string; status: 'running' | 'stopped'; files: Record<string, string> }> = [
  { id: 'ws_demo', status: 'running', files: { 'README.md': '# demo workspace\n', 'app/main.py': 'print("hello")\n' } },
  { id: 'ws_ml', status: 'running', files: { 'model/config.json': '{"layers": 12}\n' } },
  { id: 'ws_production', status: 'running', files: { 'db/data.sql': 'INSERT INTO users VALUES (1);\n' } },
  { id: 'ws_archive', status: 'stopped', files: { 'notes.txt': 'stopped workspace\n' } },
];
