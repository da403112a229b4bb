// host.js is the embedding page of TestEmbedAcrossOrigins: it inserts the
// iframe of a seedcast oEmbed answer, starts the player through its
// postMessage API, and records what the player reports.

// messages are the player's messages, with the origin they came from.
const messages = []
window.addEventListener('message', e => {
  if (e.data?.type === 'seedcast') messages.push({ ...e.data, origin: e.origin })
})

let frame

// embed inserts html, the oEmbed answer's, as a CMS would.
export function embed (html) {
  const box = document.getElementById('embed')
  box.innerHTML = html
  frame = box.querySelector('iframe')
  if (!frame) throw new Error('the oEmbed html has no iframe')
  return true
}

// playedPast asks the player to play once it says it is ready, and
// resolves when it reports a currentTime past sec, with what it said last.
export function playedPast (sec) {
  return new Promise(resolve => {
    let asked = false
    const check = () => {
      const ready = messages.find(m => m.event === 'ready')
      if (ready && !asked) {
        frame.contentWindow.postMessage({ type: 'seedcast', command: 'play' }, ready.origin)
        asked = true
      }
      const last = messages[messages.length - 1]
      if (last && last.currentTime > sec) {
        return resolve({
          origin: last.origin,
          currentTime: last.currentTime,
          mode: last.mode,
          peers: last.peers,
          events: [...new Set(messages.map(m => m.event))]
        })
      }
      setTimeout(check, 50)
    }
    check()
  })
}

// events lists the kinds of messages received so far.
export function events () {
  return [...new Set(messages.map(m => m.event))]
}
