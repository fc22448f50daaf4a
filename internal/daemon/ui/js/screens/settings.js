// settings.js: the settings screen. Every control saves at once through
// PATCH /api/v1/settings and shows what the daemon answered, so what the
// screen says is what the home holds. Each choice that exposes something
// (the notification mode, calls) shows its plain words before it is made.

const MODE_LABELS = { slow: 'Slow (polling)', fast: 'Fast (one long request)', push: 'Push (through a push server)' }

const CONTENT_CHOICES = [
  ['name_and_content', 'Name and content', 'A notification shows who wrote and what they wrote.'],
  ['name_only', 'Name only', 'A notification shows who wrote, never the text.'],
  ['nothing', 'Nothing', 'A notification only says there is a new message.'],
]

// Durations offered for the default disappearing timer (whole seconds).
const TIMER_CHOICES = [
  [300, '5 minutes'], [3600, '1 hour'], [43200, '12 hours'], [86400, '1 day'], [604800, '1 week'], [1209600, '2 weeks'],
]
const SECOND_NS = 1e9

const MB = 1000 * 1000

export function mount(el, app) {
  const h = app.h
  const saved = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite', id: 'settings-saved' })
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'))
  el.append(h('h1', { id: 'title-settings' }, 'Settings'), body, saved)
  let alive = true

  async function patch(change, what) {
    saved.textContent = 'Saving…'
    // The screen is drawn again from the answer: keep the keyboard's place.
    const focused = document.activeElement && document.activeElement.id
    try {
      const s = await app.api('PATCH', '/settings', change)
      if (!alive) return
      render(s)
      const again = focused && document.getElementById(focused)
      if (again) again.focus()
      saved.textContent = what + ' saved.'
      el.dataset.saved = String(Number(el.dataset.saved || 0) + 1)
    } catch (e) {
      if (!alive) return
      saved.textContent = ''
      app.toast(e.message || String(e), 'error')
      load() // show what the home still holds
    }
  }

  // radios builds a fieldset of radio buttons, each with its description
  // tied to it for screen readers.
  function radios(name, legend, choices, current, onPick) {
    return h('fieldset', { class: 'card' },
      h('legend', {}, legend),
      choices.map(([value, label, desc]) => {
        const id = 'set-' + name + '-' + value
        const descID = id + '-desc'
        return h('div', { class: 'field' },
          h('div', { class: 'row' },
            h('input', {
              type: 'radio', name, id, value, checked: value === current,
              'aria-describedby': desc ? descID : null,
              onchange: (ev) => { if (ev.target.checked) onPick(value) },
            }),
            h('label', { for: id }, label)),
          desc ? h('p', { id: descID, class: 'muted' }, desc) : null)
      }))
  }

  function checkbox(id, label, checked, desc, onToggle) {
    return h('div', { class: 'field' },
      h('div', { class: 'row' },
        h('input', { type: 'checkbox', id, checked, 'aria-describedby': desc ? id + '-desc' : null,
          onchange: (ev) => onToggle(ev.target.checked) }),
        h('label', { for: id }, label)),
      desc ? h('p', { id: id + '-desc', class: 'muted' }, desc) : null)
  }

  function timerSection(t) {
    const mode = h('select', { id: 'set-timer-mode', 'aria-describedby': 'set-timer-desc' },
      h('option', { value: 'off', selected: t.mode === 'off' }, 'Off'),
      h('option', { value: 'after-send', selected: t.mode === 'after-send' }, 'After sending'),
      h('option', { value: 'after-read', selected: t.mode === 'after-read' }, 'After reading'))
    const secs = Math.round((t.after_ns || 0) / SECOND_NS)
    const choices = TIMER_CHOICES.some(([s]) => s === secs) || !secs ? TIMER_CHOICES : [...TIMER_CHOICES, [secs, secs + ' seconds']]
    const after = h('select', { id: 'set-timer-after', disabled: t.mode === 'off' },
      choices.map(([s, label]) => h('option', { value: String(s), selected: s === (secs || 86400) }, label)))
    const save = () => {
      after.disabled = mode.value === 'off'
      const body = { mode: mode.value }
      if (mode.value !== 'off') body.after_ns = Number(after.value) * SECOND_NS
      patch({ default_timer: body }, 'Default disappearing timer')
    }
    mode.addEventListener('change', save)
    after.addEventListener('change', save)
    return h('section', { class: 'card', 'aria-labelledby': 'set-timer-title' },
      h('h2', { id: 'set-timer-title' }, 'Disappearing messages'),
      h('p', { id: 'set-timer-desc', class: 'muted' },
        'The timer new conversations you start begin with. Your first message carries it, so the other side uses it too. ' +
        'Each conversation can change its own timer later.'),
      h('label', { for: 'set-timer-mode' }, 'Delete messages'), mode,
      h('label', { for: 'set-timer-after' }, 'After'), after)
  }

  function mediaSection(m) {
    const input = h('input', {
      type: 'number', id: 'set-autodl', min: '0', step: '0.1', inputmode: 'decimal',
      value: String(Math.round((m.auto_download_bytes / MB) * 10) / 10),
      'aria-describedby': 'set-autodl-desc',
    })
    const apply = () => {
      const v = Number(input.value)
      if (!(v >= 0)) { app.toast('The size is a number of megabytes, 0 or more.', 'error'); return }
      patch({ media: { auto_download_bytes: Math.round(v * MB) } }, 'Automatic download size')
    }
    input.addEventListener('change', apply)
    return h('section', { class: 'card', 'aria-labelledby': 'set-media-title' },
      h('h2', { id: 'set-media-title' }, 'Media'),
      h('label', { for: 'set-autodl' }, 'Download attachments automatically up to (MB)'),
      input,
      h('p', { id: 'set-autodl-desc', class: 'muted' },
        'Larger files wait until you open them. Files in message requests are never downloaded by themselves. ' +
        'The largest file you can send is ' + app.formatBytes(m.max_attachment_bytes) + '.'))
  }

  // callsSection: calls are off until the user reads who learns their IP
  // address and confirms; direct mode is a second choice with its own
  // warning. Turning either off needs no confirmation. The warning shows
  // in the page (no modal dialog) with its two buttons next to it.
  function callsSection(s) {
    const mode = s.calls_mode || (s.calls ? 'relay' : 'off')
    const confirm = h('div', { id: 'set-calls-confirm-box', class: 'warning', hidden: true, role: 'alert' })
    function ask(want, words, label) {
      confirm.replaceChildren(
        h('p', { id: 'set-calls-warning' }, words),
        h('div', { class: 'actions' },
          h('button', { type: 'button', id: 'set-calls-confirm', 'aria-describedby': 'set-calls-warning',
            onclick: () => patch({ calls_mode: want }, 'Calls') }, label),
          h('button', { type: 'button', id: 'set-calls-cancel', class: 'secondary', onclick: () => render(s) }, 'Cancel')))
      confirm.hidden = false
      document.getElementById('set-calls-confirm').focus()
    }
    const on = checkbox('set-calls', 'Allow voice and video calls (beta, off by default)', mode !== 'off',
      mode === 'off' ? 'Off: no call rings here and you cannot call. Turning calls on first shows what they reveal.' : s.calls_warning,
      (checked) => {
        if (checked) ask('relay', s.calls_warning, 'I understand: turn calls on (relay-only)')
        else patch({ calls_mode: 'off' }, 'Calls')
      })
    const direct = mode === 'off' ? null : checkbox('set-calls-direct',
      'Direct calls: connect without the relay when possible (reveals your IP address to the other party)', mode === 'direct',
      mode === 'direct' ? s.calls_direct_warning : 'Off: relay-only. The other party never learns your IP address; the relay server does.',
      (checked) => {
        if (checked) ask('direct', s.calls_direct_warning, 'I understand: allow direct calls')
        else patch({ calls_mode: 'relay' }, 'Calls')
      })
    return h('section', { class: 'card', 'aria-labelledby': 'set-calls-title' },
      h('h2', { id: 'set-calls-title' }, 'Calls'), on, direct, confirm)
  }

  function render(s) {
    const modes = (s.notification_modes && s.notification_modes.length)
      ? s.notification_modes
      : [s.notifications]
    body.replaceChildren(
      h('section', { 'aria-labelledby': 'set-notif-title' },
        h('h2', { id: 'set-notif-title' }, 'Notifications'),
        radios('notification_mode', 'How hush learns of new messages (read what each one exposes)',
          modes.map((m) => [m.mode, MODE_LABELS[m.mode] || m.mode, m.explanation]),
          s.notifications.mode,
          (v) => patch({ notification_mode: v }, 'Notification mode')),
        s.notifications.mode === 'push' || !modes.some((m) => m.mode === 'push') ? null
          : h('p', { class: 'muted' }, 'Push needs a subscription first: run “hush notifications push”.'),
        radios('notification_content', 'Desktop notifications show', CONTENT_CHOICES, s.notification_content,
          (v) => patch({ notification_content: v }, 'Notification content'))),
      h('section', { class: 'card', 'aria-labelledby': 'set-privacy-title' },
        h('h2', { id: 'set-privacy-title' }, 'Privacy'),
        checkbox('set-receipts', 'Send read receipts and typing indicators', s.receipts,
          'When on, people you talk with see when you read their messages and when you type, and you see when they read yours and type if they turned this on too.',
          (on) => patch({ receipts: on }, 'Read receipts')),
        ),
      callsSection(s),
      timerSection(s.default_timer || { mode: 'off' }),
      mediaSection(s.media))
    el.dataset.loaded = '1'
  }

  async function load() {
    try {
      const s = await app.api('GET', '/settings')
      if (alive) render(s)
    } catch (e) {
      if (alive) body.replaceChildren(h('p', { role: 'alert' }, 'The settings could not be read: ' + (e.message || e)))
    }
  }
  load()
  return () => { alive = false }
}
