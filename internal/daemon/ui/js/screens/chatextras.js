// chatextras: a conversation's mute, pin and archive buttons, and the
// link-preview cards of a message (issue 22). A preview is what the
// sender fetched; nothing is fetched here: its image is the JPEG the
// message carries, its title and description text nodes.

// flagButtons returns the conversation's flag toggles (aria-pressed),
// kept in step with the daemon's answer. A press made while the flags
// are still being read waits for them: it toggles the state the daemon
// holds, and the read's (older) answer cannot come after the press's.
export function flagButtons(app, peer) {
  const h = app.h
  const defs = [['muted', 'Mute', 'flag-mute'], ['pinned', 'Pin', 'flag-pin'], ['archived', 'Archive', 'flag-archive']]
  const btns = defs.map(([key, label, id]) =>
    h('button', { type: 'button', class: 'secondary', id, 'aria-pressed': 'false', dataset: { flag: key } }, label))
  const show = f => btns.forEach(b => b.setAttribute('aria-pressed', String(!!f[b.dataset.flag])))
  const known = app.api('GET', '/conversations/' + peer + '/flags').then(show).catch(() => {})
  btns.forEach(b => b.addEventListener('click', async () => {
    await known
    const on = b.getAttribute('aria-pressed') !== 'true'
    try {
      const f = await app.api('PUT', '/conversations/' + peer + '/flags', { [b.dataset.flag]: on })
      show(f)
      app.toast(b.textContent + (on ? ': on.' : ': off.'))
    } catch (e) { app.error(e) }
  }))
  return h('div', { class: 'actions', id: 'chat-flags', role: 'group', 'aria-label': 'Conversation settings' }, btns)
}

// previewCards renders message m's link previews.
export function previewCards(app, m) {
  const h = app.h
  return (m.previews || []).map(p => h('div', { class: 'link-preview' },
    p.image ? h('img', { class: 'thumb', src: 'data:image/jpeg;base64,' + p.image, alt: '' }) : null,
    h('div', {},
      p.title ? h('strong', { class: 'preview-title' }, p.title) : null,
      p.description ? h('p', { class: 'preview-description' }, p.description) : null,
      h('span', { class: 'preview-url muted' }, p.url))))
}
