// A pop-up menu of the player's controls (speed, captions), after the
// WAI-ARIA menu button pattern: the button opens it on its checked item;
// the up and down arrows, Home and End move among the items; Enter or
// Space picks one; Escape, Tab or a click elsewhere closes it.

/** Choice is one item of a menu. */
export interface Choice {
  label: string
  checked: boolean
  pick: () => void
}

export class Menu {
  /**
   * The menu of button is list, whose items choices() gives each time it
   * opens; onToggle hears it open and close.
   */
  constructor (
    private readonly button: HTMLElement,
    private readonly list: HTMLElement,
    private readonly choices: () => Choice[],
    private readonly onToggle: (open: boolean) => void
  ) {
    button.setAttribute('aria-haspopup', 'menu')
    button.setAttribute('aria-expanded', 'false')
    button.setAttribute('aria-controls', list.id)
    list.setAttribute('role', 'menu')
    list.hidden = true
    button.addEventListener('click', () => this.isOpen ? this.close(true) : this.open())
    list.addEventListener('keydown', e => this.key(e))
    // A click anywhere else only closes it, as a native menu's does: a
    // click on the video does not pause it too.
    document.addEventListener('click', e => {
      if (!this.isOpen || !(e.target instanceof Node) || list.contains(e.target) || button.contains(e.target)) return
      this.close(false)
      e.preventDefault()
      e.stopPropagation()
    }, true)
  }

  get isOpen (): boolean {
    return !this.list.hidden
  }

  open (): void {
    const items = this.choices().map(c => {
      const b = document.createElement('button')
      b.type = 'button'
      b.className = 'menu-item'
      b.setAttribute('role', 'menuitemradio')
      b.setAttribute('aria-checked', String(c.checked))
      b.tabIndex = -1
      b.textContent = c.label
      b.addEventListener('click', () => {
        c.pick()
        this.close(true)
      })
      return b
    })
    this.list.replaceChildren(...items)
    this.list.hidden = false
    this.button.setAttribute('aria-expanded', 'true')
    this.onToggle(true)
    const checked = items.find(b => b.getAttribute('aria-checked') === 'true') ?? items[0]
    checked?.focus()
  }

  /** close closes the menu, focusing its button again if refocus is set. */
  close (refocus: boolean): void {
    if (!this.isOpen) return
    this.list.hidden = true
    this.button.setAttribute('aria-expanded', 'false')
    this.onToggle(false)
    if (refocus) this.button.focus()
  }

  private key (e: KeyboardEvent): void {
    const items = [...this.list.querySelectorAll<HTMLElement>('[role="menuitemradio"]')]
    const at = items.indexOf(document.activeElement as HTMLElement)
    const move = (i: number) => items[(i + items.length) % items.length]?.focus()
    switch (e.key) {
      case 'ArrowDown': move(at + 1); break
      case 'ArrowUp': move(at - 1); break
      case 'Home': move(0); break
      case 'End': move(items.length - 1); break
      case 'Escape': this.close(true); break
      case 'Tab': this.close(false); return // focus moves on as usual
      default: return
    }
    // Not the player's keys too: its arrows seek.
    e.preventDefault()
    e.stopPropagation()
  }
}
