// Inline SVG icons (stroke style, 24×24), built with DOM calls so they need
// no network request and no HTML strings. Icons are decorative:
// `aria-hidden`; the control that holds one carries the label.

const NS = 'http://www.w3.org/2000/svg';

// Each icon: a list of [element, attributes].
const SHAPES = {
  send: [['path', { d: 'M4 12 20 4l-5 16-3-7-8-1z' }], ['path', { d: 'm12 13 8-9' }]],
  plus: [['path', { d: 'M12 5v14M5 12h14' }]],
  chat: [['path', { d: 'M4 5h16v11H9l-5 4z' }]],
  group: [
    ['circle', { cx: 9, cy: 8, r: 3.5 }],
    ['path', { d: 'M2.5 20c.6-3.6 3.2-5.5 6.5-5.5s5.9 1.9 6.5 5.5' }],
    ['path', { d: 'M16 4.8a3.5 3.5 0 0 1 0 6.4M18 14.8c2 .7 3.2 2.5 3.5 5.2' }],
  ],
  gear: [
    ['circle', { cx: 12, cy: 12, r: 3 }],
    [
      'path',
      {
        d: 'M19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z',
      },
    ],
  ],
  back: [['path', { d: 'M15 5l-7 7 7 7' }]],
  close: [['path', { d: 'M6 6l12 12M18 6 6 18' }]],
  check: [['path', { d: 'm4 12.5 5 5L20 6.5' }]],
  checks: [['path', { d: 'm1.5 12.5 5 5L17.5 6.5' }], ['path', { d: 'm11.5 16.5 1 1L23.5 6.5' }]],
  clock: [['circle', { cx: 12, cy: 12, r: 8.5 }], ['path', { d: 'M12 7.5V12l3 2' }]],
  alert: [
    ['circle', { cx: 12, cy: 12, r: 9 }],
    ['path', { d: 'M12 7.5v5.5M12 16.2v.3' }],
  ],
  sun: [
    ['circle', { cx: 12, cy: 12, r: 4 }],
    [
      'path',
      {
        d: 'M12 2v2M12 20v2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M2 12h2M20 12h2M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4',
      },
    ],
  ],
  moon: [['path', { d: 'M20 14.5A8 8 0 0 1 9.5 4a8 8 0 1 0 10.5 10.5z' }]],
  logout: [['path', { d: 'M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4M16 17l5-5-5-5M21 12H9' }]],
  info: [['circle', { cx: 12, cy: 12, r: 9 }], ['path', { d: 'M12 11v6M12 7.5v.3' }]],
  bell: [
    ['path', { d: 'M6 16V11a6 6 0 0 1 12 0v5l2 2H4z' }],
    ['path', { d: 'M10 20a2 2 0 0 0 4 0' }],
  ],
  retry: [['path', { d: 'M20 11a8 8 0 1 0-2.3 5.7' }], ['path', { d: 'M20 4v7h-7' }]],
  more: [
    ['circle', { cx: 12, cy: 5.5, r: 1.2 }],
    ['circle', { cx: 12, cy: 12, r: 1.2 }],
    ['circle', { cx: 12, cy: 18.5, r: 1.2 }],
  ],
  block: [['circle', { cx: 12, cy: 12, r: 9 }], ['path', { d: 'm5.6 5.6 12.8 12.8' }]],
  trash: [['path', { d: 'M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13' }]],
  flag: [['path', { d: 'M5 21V4h11l-1.5 4L16 12H5' }]],
  // A broadcast channel.
  megaphone: [
    ['path', { d: 'M3 10v4a1 1 0 0 0 1 1h3l8 4.5V4.5L7 9H4a1 1 0 0 0-1 1z' }],
    ['path', { d: 'M7 15l1.5 5h3L10 15.8M19 9a4 4 0 0 1 0 6' }],
  ],
  // A pinned conversation.
  pin: [['path', { d: 'M9 3h6M10 3v6.5L6.5 14h11L14 9.5V3M12 14v7' }]],
  // A muted conversation: a bell, struck through.
  mute: [
    ['path', { d: 'M6 16V11a6 6 0 0 1 9.3-5M18 10.5V16l2 2H8' }],
    ['path', { d: 'M10 20a2 2 0 0 0 4 0M3.5 3.5l17 17' }],
  ],
  // Archived conversations.
  archive: [
    ['path', { d: 'M3 4h18v4H3zM5 8v12h14V8' }],
    ['path', { d: 'M10 12h4' }],
  ],
  // Views of a channel's post.
  eye: [
    ['path', { d: 'M2 12s3.6-6.5 10-6.5S22 12 22 12s-3.6 6.5-10 6.5S2 12 2 12z' }],
    ['circle', { cx: 12, cy: 12, r: 3 }],
  ],
};

/** An `<svg>` icon by name. */
export function icon(name, className = 'icon') {
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', className);
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  for (const [tag, attrs] of SHAPES[name] ?? []) {
    const el = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    svg.append(el);
  }
  return svg;
}
