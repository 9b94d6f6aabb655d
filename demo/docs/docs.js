// Renders /openapi.json as a readable page. Plain ES module, no build step,
// no inline script (the page runs under a strict Content-Security-Policy).
// Everything reaches the page as text nodes, never as HTML.

const $ = (id) => document.getElementById(id);

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  el.append(...children.flat(Infinity).filter((c) => c != null && c !== false));
  return el;
}

const pretty = (value) => JSON.stringify(value, null, 2);

function renderOperation(path, method, op) {
  const body = op.requestBody?.content ?? {};
  const responses = Object.entries(op.responses ?? {});
  return h(
    'article',
    { 'aria-label': `${method.toUpperCase()} ${path}` },
    h('h3', {}, h('span', { class: 'method' }, method.toUpperCase()), ' ', path),
    h('p', {}, op.summary ?? ''),
    op.description ? h('p', {}, op.description) : null,
    op.security && op.security.length === 0 ? h('p', {}, 'Open: no credentials needed.') : null,
    Object.keys(body).length
      ? [
          h('h4', {}, 'Request body'),
          Object.entries(body).map(([type, c]) => [h('p', {}, h('code', {}, type)), h('pre', {}, pretty(c.schema))]),
        ]
      : null,
    h('h4', {}, 'Responses'),
    h(
      'ul',
      { class: 'responses' },
      responses.map(([status, r]) => h('li', {}, h('code', {}, status), ' ', r.description ?? '')),
    ),
  );
}

async function main() {
  const response = await fetch('/openapi.json');
  const doc = await response.json();
  $('intro').textContent = doc.info?.description ?? '';
  const paths = Object.entries(doc.paths ?? {}).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => renderOperation(path, method, op)),
  );
  $('paths').replaceChildren(...paths);
  const schemas = Object.entries(doc.components?.schemas ?? {}).map(([name, schema]) =>
    h('article', { id: `schema-${name}`, 'aria-label': name }, h('h3', {}, name), h('pre', {}, pretty(schema))),
  );
  $('schemas').replaceChildren(...schemas);
}

main().catch((error) => {
  $('paths').replaceChildren(h('p', { role: 'alert' }, `Could not load /openapi.json: ${error.message}`));
});
