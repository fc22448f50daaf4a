export function mount(el, app) { el.append(app.h('p', {}, 'TODO')) }
