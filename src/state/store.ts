// placeholder, replaced below
export function loadContainer(_root: string, _id: string): { publicState(): object } {
  throw new Error('todo');
}
