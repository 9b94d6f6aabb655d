/** An element of the page skeleton (index.html) by id, of the kind the code expects, or a loud failure. */
export function byId<T extends HTMLElement>(id: string, kind: { new (): T; prototype: T }): T {
  const element = document.getElementById(id);
  if (!(element instanceof kind)) throw new Error(`console: #${id} is missing from the page or is not a ${kind.name}`);
  return element;
}
