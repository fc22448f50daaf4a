// onboarding: create an account (its recovery phrase shown once, then a
// check that it was written down) or restore one from its phrase; both
// set the passphrase that locks the home.

export function mount(el, app) {
  const h = app.h
  const root = document.documentElement
  choose()
  return () => { delete root.dataset.onboarding }

  function screen(title, ...body) {
    el.replaceChildren(h('h1', { id: 'title-onboarding', tabindex: '-1' }, title), ...body)
    el.querySelector('h1').focus()
  }

  function choose() {
    screen('Welcome to hush',
      h('p', {}, 'hush is an end-to-end encrypted messenger. Your account is a key made on this machine: no phone number, no e-mail.'),
      h('div', { class: 'actions' },
        h('button', { type: 'button', id: 'onb-create', onclick: create }, 'Create a new account'),
        h('button', { type: 'button', id: 'onb-restore', class: 'secondary', onclick: restore }, 'Restore from a recovery phrase')))
  }

  // passFields makes the passphrase and its repetition.
  function passFields(prefix) {
    const p1 = h('input', { id: prefix + '-pass', type: 'password', autocomplete: 'new-password', required: true })
    const p2 = h('input', { id: prefix + '-pass2', type: 'password', autocomplete: 'new-password', required: true })
    const nodes = [
      h('div', { class: 'field' }, h('label', { for: prefix + '-pass' }, 'Passphrase'), p1,
        h('p', { class: 'muted' }, 'It encrypts your messages on this machine and unlocks the daemon after a restart.')),
      h('div', { class: 'field' }, h('label', { for: prefix + '-pass2' }, 'Passphrase again'), p2),
    ]
    const check = () => {
      if (!p1.value) return 'Choose a passphrase.'
      if (p1.value !== p2.value) return 'The two passphrases differ.'
      return ''
    }
    return { nodes, check, value: () => p1.value, clear: () => { p1.value = ''; p2.value = '' } }
  }

  function create() {
    const pf = passFields('create')
    const err = h('p', { class: 'error', role: 'alert' })
    const btn = h('button', { type: 'submit', id: 'create-submit' }, 'Create account')
    screen('Create an account',
      h('form', { onsubmit: submit }, ...pf.nodes, err,
        h('div', { class: 'actions' }, btn,
          h('button', { type: 'button', class: 'secondary', onclick: choose }, 'Back'))))
    async function submit(ev) {
      ev.preventDefault()
      err.textContent = pf.check()
      if (err.textContent) return
      btn.disabled = true
      root.dataset.onboarding = 'busy'
      try {
        const r = await app.api('POST', '/account/create', { passphrase: pf.value() })
        pf.clear()
        showPhrase(r.account_id, r.recovery_phrase)
      } catch (e) {
        delete root.dataset.onboarding
        err.textContent = e.message
        btn.disabled = false
      }
    }
  }

  function showPhrase(id, phrase) {
    const ack = h('input', { type: 'checkbox', id: 'phrase-ack' })
    const next = h('button', { type: 'button', id: 'phrase-next', disabled: true, onclick: () => confirm(id, phrase) }, 'Continue')
    ack.addEventListener('change', () => { next.disabled = !ack.checked })
    screen('Your recovery phrase',
      h('p', {}, 'Write these 13 words down and keep them safe. They are the only way back into your account on a new machine. ',
        h('strong', {}, 'They are shown only this once.')),
      h('p', { class: 'phrase', id: 'phrase' }, phrase),
      h('p', {}, 'Your Account ID: ', h('span', { class: 'mono', id: 'onb-account' }, id)),
      h('div', { class: 'row' }, ack, h('label', { for: 'phrase-ack' }, 'I have written the phrase down')),
      h('div', { class: 'actions' }, next))
  }

  // confirm asks for two words of the phrase by position before leaving
  // it behind for good.
  function confirm(id, phrase) {
    const words = phrase.trim().split(/\s+/)
    const a = Math.floor(Math.random() * words.length)
    let b = Math.floor(Math.random() * (words.length - 1))
    if (b >= a) b++
    const pos = [a, b].sort((x, y) => x - y)
    const inputs = pos.map(i => h('input', { type: 'text', id: 'confirm-' + (i + 1), autocomplete: 'off', spellcheck: 'false', dataset: { word: String(i + 1) } }))
    const err = h('p', { class: 'error', role: 'alert' })
    screen('Check your phrase',
      h('p', {}, 'Type two words of your phrase, to be sure it is written down.'),
      h('form', { onsubmit: submit },
        pos.map((i, k) => h('div', { class: 'field' }, h('label', { for: 'confirm-' + (i + 1) }, 'Word ' + (i + 1)), inputs[k])),
        err,
        h('div', { class: 'actions' },
          h('button', { type: 'submit', id: 'confirm-submit' }, 'Finish'),
          h('button', { type: 'button', class: 'secondary', onclick: () => showPhrase(id, phrase) }, 'Show the phrase again'))))
    async function submit(ev) {
      ev.preventDefault()
      const ok = pos.every((i, k) => inputs[k].value.trim().toLowerCase() === words[i].toLowerCase())
      if (!ok) {
        err.textContent = 'These are not the words of your phrase. Look at what you wrote down again.'
        return
      }
      delete root.dataset.onboarding
      app.toast('Your account is ready.')
      await app.refresh()
      app.go('#/chats')
    }
  }

  function restore() {
    const phrase = h('textarea', { id: 'restore-phrase', rows: 3, autocomplete: 'off', spellcheck: 'false', required: true })
    const pf = passFields('restore')
    const err = h('p', { class: 'error', role: 'alert' })
    const btn = h('button', { type: 'submit', id: 'restore-submit' }, 'Restore account')
    screen('Restore an account',
      h('form', { onsubmit: submit },
        h('div', { class: 'field' }, h('label', { for: 'restore-phrase' }, 'Recovery phrase (13 words)'), phrase),
        ...pf.nodes, err,
        h('div', { class: 'actions' }, btn,
          h('button', { type: 'button', class: 'secondary', onclick: choose }, 'Back'))))
    async function submit(ev) {
      ev.preventDefault()
      err.textContent = pf.check()
      if (err.textContent) return
      btn.disabled = true
      try {
        await app.api('POST', '/account/restore', { recovery_phrase: phrase.value.trim(), passphrase: pf.value() })
        phrase.value = ''
        pf.clear()
        app.toast('Your account is restored.')
        await app.refresh()
      } catch (e) {
        err.textContent = e.code === 'bad_phrase' ? 'This is not a valid recovery phrase: ' + e.message : e.message
        btn.disabled = false
      }
    }
  }
}
