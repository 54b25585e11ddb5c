// Inline SVG icons (stroke style, 24×24), built with DOM calls so they need
// no network request and no HTML strings. Icons are decorative:
// `aria-hidden`; the control that holds one carries the label.
//
// Also the built-in emoji list of the reaction picker (at the end: data,
// hence the length of this file).

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
  // Message actions: reply, react, a thread, forward, edit, copy a link.
  reply: [['path', { d: 'M10 8 5 12.5 10 17' }], ['path', { d: 'M5.5 12.5H14a5 5 0 0 1 5 5V19' }]],
  smile: [
    ['circle', { cx: 12, cy: 12, r: 9 }],
    ['path', { d: 'M8.5 14.5a4.5 4.5 0 0 0 7 0M9 9.5v.3M15 9.5v.3' }],
  ],
  thread: [['path', { d: 'M4 5h16v10h-7l-4 4v-4H4z' }], ['path', { d: 'M8 9h8M8 12h5' }]],
  forward: [['path', { d: 'm14 8 5 4.5-5 4.5' }], ['path', { d: 'M18.5 12.5H10a5 5 0 0 0-5 5V19' }]],
  edit: [['path', { d: 'M4 20h4L19 9l-4-4L4 16z' }], ['path', { d: 'm13.5 6.5 4 4' }]],
  link: [
    ['path', { d: 'M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1' }],
    ['path', { d: 'M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1' }],
  ],
  // Views of a channel's post.
  paperclip: [['path', { d: 'm20 11.5-7.8 7.8a5 5 0 0 1-7-7l8.5-8.5a3.3 3.3 0 0 1 4.7 4.7l-8.5 8.5a1.7 1.7 0 0 1-2.4-2.4l7.8-7.8' }]],
  mic: [['rect', { x: 9, y: 3, width: 6, height: 11, rx: 3 }], ['path', { d: 'M5.5 11a6.5 6.5 0 0 0 13 0M12 17.5V21M8.5 21h7' }]],
  image: [['rect', { x: 3.5, y: 4.5, width: 17, height: 15, rx: 2 }], ['circle', { cx: 9, cy: 10, r: 1.8 }], ['path', { d: 'm4 18 5.5-5.5 4 4 2.5-2.5 4.5 4.5' }]],
  file: [['path', { d: 'M14 3H6.5v18h11V6.5zM14 3v3.5h3.5' }], ['path', { d: 'M9 12h6M9 15.5h6' }]],
  download: [['path', { d: 'M12 4v11M7 10.5l5 5 5-5M5 20h14' }]],
  play: [['path', { d: 'M8 5.5v13l10.5-6.5z' }]],
  pause: [['path', { d: 'M8.5 5.5v13M15.5 5.5v13' }]],
  stop: [['rect', { x: 6.5, y: 6.5, width: 11, height: 11, rx: 1.5 }]],
  left: [['path', { d: 'M15 5l-7 7 7 7' }]],
  right: [['path', { d: 'm9 5 7 7-7 7' }]],
  gallery: [['rect', { x: 3.5, y: 3.5, width: 7, height: 7, rx: 1.5 }], ['rect', { x: 13.5, y: 3.5, width: 7, height: 7, rx: 1.5 }], ['rect', { x: 3.5, y: 13.5, width: 7, height: 7, rx: 1.5 }], ['rect', { x: 13.5, y: 13.5, width: 7, height: 7, rx: 1.5 }]],
  camera: [['path', { d: 'M4 8h3.5L9 5.5h6L16.5 8H20v11H4z' }], ['circle', { cx: 12, cy: 13.5, r: 3.5 }]],
  eye: [
    ['path', { d: 'M2 12s3.6-6.5 10-6.5S22 12 22 12s-3.6 6.5-10 6.5S2 12 2 12z' }],
    ['circle', { cx: 12, cy: 12, r: 3 }],
  ],
  search: [['circle', { cx: 10.5, cy: 10.5, r: 6.5 }], ['path', { d: 'm15.5 15.5 5 5' }]],
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

// ---- emoji (reactions) ----
//
// A built-in list of common emoji for the reaction picker: one per line,
// the emoji, its name, then words to find it by. No network, no font
// files: the system's emoji font draws them.
const EMOJI_TABLE = `
👍 thumbs up: yes like agree ok +1
❤️ red heart: love like
😂 face with tears of joy: laugh lol funny
🎉 party popper: congratulations celebrate tada
😮 face with open mouth: wow surprised
😢 crying face: sad tear
🙏 folded hands: please thanks pray
🔥 fire: hot lit
👀 eyes: look see watching
✅ check mark button: done yes ok
👎 thumbs down: no dislike -1
😀 grinning face: smile happy
😃 grinning face with big eyes: smile happy
😄 grinning face with smiling eyes: smile happy
😁 beaming face: grin
😆 grinning squinting face: laugh
😅 grinning face with sweat: relief
🤣 rolling on the floor laughing: rofl lol
🙂 slightly smiling face: smile
🙃 upside-down face: silly
😉 winking face: wink
😊 smiling face with smiling eyes: blush happy
😇 smiling face with halo: angel innocent
🥰 smiling face with hearts: love
😍 smiling face with heart-eyes: love crush
🤩 star-struck: wow amazing
😘 face blowing a kiss: kiss
😗 kissing face: kiss
😚 kissing face with closed eyes: kiss
😋 face savoring food: yum tasty
😛 face with tongue: tongue
😜 winking face with tongue: silly
🤪 zany face: crazy silly
😝 squinting face with tongue: silly
🤑 money-mouth face: money rich
🤗 smiling face with open hands: hug
🤭 face with hand over mouth: oops giggle
🤫 shushing face: quiet secret
🤔 thinking face: think hmm
🤐 zipper-mouth face: secret quiet
🤨 face with raised eyebrow: doubt skeptical
😐 neutral face: meh
😑 expressionless face: blank
😶 face without mouth: silent
😏 smirking face: smirk
😒 unamused face: meh unhappy
🙄 face with rolling eyes: eyeroll whatever
😬 grimacing face: awkward yikes
🤥 lying face: lie pinocchio
😌 relieved face: relief calm
😔 pensive face: sad thoughtful
😪 sleepy face: tired
🤤 drooling face: drool
😴 sleeping face: sleep zzz tired
😷 face with medical mask: sick mask
🤒 face with thermometer: sick ill
🤕 face with head-bandage: hurt
🤢 nauseated face: sick gross
🤮 face vomiting: sick gross
🤧 sneezing face: sick cold
🥵 hot face: heat sweat
🥶 cold face: freezing
🥴 woozy face: dizzy drunk
😵 face with crossed-out eyes: dizzy
🤯 exploding head: mind blown shocked
🤠 cowboy hat face: cowboy
🥳 partying face: party celebrate birthday
😎 smiling face with sunglasses: cool
🤓 nerd face: nerd geek
🧐 face with monocle: inspect curious
😕 confused face: confused
😟 worried face: worried
🙁 slightly frowning face: sad
☹️ frowning face: sad
😯 hushed face: surprised
😲 astonished face: shocked surprised
😳 flushed face: embarrassed blush
🥺 pleading face: please puppy eyes
😦 frowning face with open mouth: shocked
😧 anguished face: anguish
😨 fearful face: scared fear
😰 anxious face with sweat: nervous
😥 sad but relieved face: phew
😭 loudly crying face: cry sob sad
😱 face screaming in fear: scream scared
😖 confounded face: frustrated
😣 persevering face: struggle
😞 disappointed face: sad disappointed
😓 downcast face with sweat: sweat
😩 weary face: tired
😫 tired face: exhausted
🥱 yawning face: bored tired yawn
😤 face with steam from nose: angry triumph
😡 enraged face: angry mad
😠 angry face: angry mad
🤬 face with symbols on mouth: swear angry
😈 smiling face with horns: devil
👿 angry face with horns: devil angry
💀 skull: dead lol
☠️ skull and crossbones: danger death
💩 pile of poo: poop
🤡 clown face: clown
👹 ogre: monster
👻 ghost: boo halloween
👽 alien: ufo space
🤖 robot: bot
😺 grinning cat: cat happy
😸 grinning cat with smiling eyes: cat
😹 cat with tears of joy: cat laugh
😻 smiling cat with heart-eyes: cat love
🙈 see-no-evil monkey: monkey shy
🙉 hear-no-evil monkey: monkey
🙊 speak-no-evil monkey: monkey oops
💋 kiss mark: kiss lips
💌 love letter: love mail
💘 heart with arrow: love cupid
💝 heart with ribbon: gift love
💖 sparkling heart: love
💗 growing heart: love
💓 beating heart: love
💞 revolving hearts: love
💕 two hearts: love
💟 heart decoration: love
❣️ heart exclamation: love
💔 broken heart: sad breakup
🧡 orange heart: love
💛 yellow heart: love
💚 green heart: love
💙 blue heart: love
💜 purple heart: love
🤎 brown heart: love
🖤 black heart: love
🤍 white heart: love
💯 hundred points: 100 perfect score
💢 anger symbol: angry
💥 collision: boom bang
💫 dizzy: star
💦 sweat droplets: water
💨 dashing away: fast wind
💬 speech balloon: comment chat talk
💭 thought balloon: think
💤 zzz: sleep
👋 waving hand: hello hi bye wave
🤚 raised back of hand: hand
✋ raised hand: stop high five
🖖 vulcan salute: spock
👌 ok hand: ok perfect
🤌 pinched fingers: italian
🤏 pinching hand: small tiny
✌️ victory hand: peace
🤞 crossed fingers: luck hope
🤟 love-you gesture: love
🤘 sign of the horns: rock metal
🤙 call me hand: call shaka
👈 backhand index pointing left: left
👉 backhand index pointing right: right
👆 backhand index pointing up: up
👇 backhand index pointing down: down
☝️ index pointing up: up one
👊 oncoming fist: punch bump
✊ raised fist: fist power
🤛 left-facing fist: bump
🤜 right-facing fist: bump
👏 clapping hands: clap applause bravo
🙌 raising hands: hooray praise
👐 open hands: hug
🤲 palms up together: please
🤝 handshake: deal agreement
✍️ writing hand: write
💪 flexed biceps: strong muscle
🧠 brain: smart think
🫶 heart hands: love thanks
👶 baby: child
🧒 child: kid
👦 boy: kid
👧 girl: kid
🧑 person: adult
👨 man: adult
👩 woman: adult
🧓 older person: elder
🙋 person raising hand: question hello me
🙇 person bowing: sorry thanks
🤦 person facepalming: facepalm doh
🤷 person shrugging: shrug whatever dunno
💁 person tipping hand: info sassy
🙆 person gesturing ok: ok
🙅 person gesturing no: no
🏃 person running: run hurry
💃 woman dancing: dance party
🕺 man dancing: dance party
👯 people with bunny ears: party dance
🧘 person in lotus position: yoga calm
🐶 dog face: dog puppy pet
🐱 cat face: cat kitten pet
🐭 mouse face: mouse
🐹 hamster: pet
🐰 rabbit face: bunny
🦊 fox: fox
🐻 bear: bear
🐼 panda: panda
🐨 koala: koala
🐯 tiger face: tiger
🦁 lion: lion
🐮 cow face: cow
🐷 pig face: pig
🐸 frog: frog
🐵 monkey face: monkey
🐔 chicken: chicken
🐧 penguin: penguin
🐦 bird: bird
🦆 duck: duck
🦉 owl: owl wise
🐺 wolf: wolf
🐴 horse face: horse
🦄 unicorn: unicorn magic
🐝 honeybee: bee
🐛 bug: bug
🦋 butterfly: butterfly
🐌 snail: slow
🐢 turtle: slow
🐍 snake: snake
🐙 octopus: octopus
🐟 fish: fish
🐬 dolphin: dolphin
🐳 spouting whale: whale
🦈 shark: shark
🐘 elephant: elephant
🦒 giraffe: giraffe
🐿️ chipmunk: squirrel
🌸 cherry blossom: flower spring
🌹 rose: flower love
🌻 sunflower: flower
🌷 tulip: flower
🌱 seedling: plant grow
🌲 evergreen tree: tree
🌴 palm tree: tree beach
🌵 cactus: desert
🍀 four leaf clover: luck
🍁 maple leaf: autumn canada
🍂 fallen leaf: autumn
🌍 globe showing europe-africa: world earth
🌎 globe showing americas: world earth
🌏 globe showing asia-australia: world earth
🌙 crescent moon: night moon
⭐ star: star favorite
🌟 glowing star: star shine
✨ sparkles: shiny magic new
⚡ high voltage: lightning fast zap
☀️ sun: sunny weather
🌤️ sun behind small cloud: weather
☁️ cloud: weather cloudy
🌧️ cloud with rain: rain weather
⛈️ cloud with lightning and rain: storm
❄️ snowflake: snow cold winter
⛄ snowman without snow: snow winter
🌈 rainbow: rainbow pride
☔ umbrella with rain drops: rain
🌊 water wave: wave ocean sea
🍎 red apple: apple fruit
🍊 tangerine: orange fruit
🍋 lemon: lemon fruit
🍌 banana: banana fruit
🍉 watermelon: fruit summer
🍇 grapes: fruit wine
🍓 strawberry: fruit
🍒 cherries: fruit
🍑 peach: fruit
🥭 mango: fruit
🍍 pineapple: fruit
🥥 coconut: fruit
🥝 kiwi fruit: fruit
🍅 tomato: vegetable
🥑 avocado: fruit
🥦 broccoli: vegetable
🥕 carrot: vegetable
🌽 ear of corn: corn
🌶️ hot pepper: spicy chili
🍞 bread: bread toast
🥐 croissant: bread breakfast
🧀 cheese wedge: cheese
🥚 egg: egg breakfast
🍳 cooking: egg breakfast
🥞 pancakes: breakfast
🥓 bacon: breakfast
🍔 hamburger: burger food
🍟 french fries: fries food
🍕 pizza: pizza food
🌭 hot dog: food
🥪 sandwich: food lunch
🌮 taco: food mexican
🌯 burrito: food mexican
🥗 green salad: salad healthy
🍝 spaghetti: pasta food
🍜 steaming bowl: ramen noodles
🍣 sushi: sushi japanese
🍤 fried shrimp: shrimp
🍦 soft ice cream: ice cream dessert
🍩 doughnut: donut dessert
🍪 cookie: cookie dessert
🎂 birthday cake: birthday cake
🍰 shortcake: cake dessert
🧁 cupcake: cake dessert
🍫 chocolate bar: chocolate
🍬 candy: sweet
🍿 popcorn: movie snack
☕ hot beverage: coffee tea
🍵 teacup without handle: tea
🍺 beer mug: beer drink cheers
🍻 clinking beer mugs: cheers beer
🥂 clinking glasses: cheers champagne
🍷 wine glass: wine drink
🍸 cocktail glass: cocktail drink
🥤 cup with straw: soda drink
⚽ soccer ball: football sport
🏀 basketball: sport
🏈 american football: sport
⚾ baseball: sport
🎾 tennis: sport
🏐 volleyball: sport
🏓 ping pong: table tennis
🏆 trophy: win award champion
🥇 1st place medal: gold first winner
🥈 2nd place medal: silver second
🥉 3rd place medal: bronze third
🏅 sports medal: medal award
🎯 bullseye: target goal direct hit
🎮 video game: game controller
🎲 game die: dice game
🧩 puzzle piece: puzzle
🎨 artist palette: art paint
🎬 clapper board: movie film
🎤 microphone: sing karaoke
🎧 headphone: music listen
🎵 musical note: music
🎶 musical notes: music
🎸 guitar: music rock
🎹 musical keyboard: piano music
🥁 drum: music
🎁 wrapped gift: present gift birthday
🎈 balloon: party birthday
🎊 confetti ball: party celebrate
🎄 christmas tree: christmas holiday
🎃 jack-o-lantern: halloween pumpkin
🎆 fireworks: celebrate new year
🚗 automobile: car drive
🚕 taxi: car cab
🚌 bus: bus
🚲 bicycle: bike cycle
🚀 rocket: launch ship fast space
✈️ airplane: plane travel flight
🚢 ship: boat travel
🚂 locomotive: train
🚦 vertical traffic light: traffic
🚧 construction: work in progress wip
⛽ fuel pump: gas
🏠 house: home
🏢 office building: work office
🏖️ beach with umbrella: beach vacation holiday
🏔️ snow-capped mountain: mountain
🗺️ world map: map travel
📍 round pushpin: location pin place
📌 pushpin: pin important
⌚ watch: time
📱 mobile phone: phone
💻 laptop: computer work
🖥️ desktop computer: computer
⌨️ keyboard: type
🖱️ computer mouse: click
💾 floppy disk: save
📷 camera: photo picture
📸 camera with flash: photo
🎥 movie camera: video film
📺 television: tv
📞 telephone receiver: call phone
🔋 battery: power charge
🔌 electric plug: power
💡 light bulb: idea bright
🔦 flashlight: light
📚 books: read study library
📖 open book: read
📝 memo: note write
✏️ pencil: write edit
🖊️ pen: write sign
📎 paperclip: attach
✂️ scissors: cut
📅 calendar: date schedule
📆 tear-off calendar: date
📈 chart increasing: growth up stonks
📉 chart decreasing: down loss
📊 bar chart: stats graph
📋 clipboard: list todo
🗂️ card index dividers: organize
📁 file folder: folder files
📦 package: box delivery ship
✉️ envelope: mail letter email
📧 e-mail: email mail
📣 megaphone: announce
📢 loudspeaker: announce
🔔 bell: notification alert
🔕 bell with slash: mute quiet
🔒 locked: lock secure private
🔓 unlocked: unlock open
🔑 key: key password
🔨 hammer: build fix
🛠️ hammer and wrench: tools fix
🔧 wrench: fix tool
⚙️ gear: settings
🧪 test tube: test science experiment
🔬 microscope: science
💊 pill: medicine
💉 syringe: vaccine shot
🩹 adhesive bandage: hurt fix
🧹 broom: clean sweep
🛒 shopping cart: shop buy
💰 money bag: money rich
💵 dollar banknote: money cash
💳 credit card: pay money
💎 gem stone: diamond jewel
⏰ alarm clock: time wake
⏳ hourglass not done: wait time
⌛ hourglass done: time
⏱️ stopwatch: timer
🕐 one o'clock: time
❗ red exclamation mark: important alert
❓ red question mark: question
❔ white question mark: question
❕ white exclamation mark: important
‼️ double exclamation mark: important
⁉️ exclamation question mark: what
⚠️ warning: caution alert
🚫 prohibited: no forbidden
⛔ no entry: stop forbidden
❌ cross mark: no wrong x cancel
⭕ hollow red circle: circle
✔️ check mark: done yes
☑️ check box with check: done
➕ plus: add
➖ minus: remove
➗ divide: math
✖️ multiply: times
🔴 red circle: red
🟠 orange circle: orange
🟡 yellow circle: yellow
🟢 green circle: green online
🔵 blue circle: blue
🟣 purple circle: purple
⚫ black circle: black
⚪ white circle: white
🟥 red square: red
🟩 green square: green
🟦 blue square: blue
🔺 red triangle pointed up: up
🔻 red triangle pointed down: down
➡️ right arrow: next
⬅️ left arrow: back
⬆️ up arrow: up
⬇️ down arrow: down
↩️ right arrow curving left: reply back
🔁 repeat button: repeat again
🔄 counterclockwise arrows button: refresh sync
🆗 ok button: ok
🆕 new button: new
🆒 cool button: cool
🆘 sos button: help emergency
ℹ️ information: info
🔝 top arrow: top
💤 zzz: sleep
🏳️ white flag: surrender
🏴 black flag: flag
🏁 chequered flag: finish race
🚩 triangular flag: red flag warning
🏳️‍🌈 rainbow flag: pride
🇪🇺 flag european union: eu europe
🇺🇸 flag united states: usa america
🇬🇧 flag united kingdom: uk britain
🇫🇷 flag france: france
🇩🇪 flag germany: germany
🇪🇸 flag spain: spain
🇮🇹 flag italy: italy
🇯🇵 flag japan: japan
🇧🇷 flag brazil: brazil
🇮🇳 flag india: india
🇨🇦 flag canada: canada
🥲 smiling face with tear: grateful
🫠 melting face: melt embarrassed
🫡 saluting face: salute respect
🫣 face with peeking eye: peek
🤝🏽 handshake medium skin tone: deal
👍🏻 thumbs up light skin tone: yes like
👍🏽 thumbs up medium skin tone: yes like
👍🏿 thumbs up dark skin tone: yes like
1️⃣ keycap one: one number
2️⃣ keycap two: two number
3️⃣ keycap three: three number
`;

/** The built-in emoji: `[{emoji, name, words}]`, common reactions first. */
export const EMOJI = (() => {
  const seen = new Set();
  const out = [];
  for (const line of EMOJI_TABLE.split('\n')) {
    const m = /^(\S+) ([^:]+): ?(.*)$/.exec(line.trim());
    if (!m || seen.has(m[1])) continue;
    seen.add(m[1]);
    out.push({ emoji: m[1], name: m[2], words: `${m[2]} ${m[3]}`.toLowerCase() });
  }
  return out;
})();

/** The emoji whose name or words contain every word of `query`. */
export function searchEmoji(query) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return EMOJI;
  return EMOJI.filter((e) => words.every((w) => e.words.includes(w) || e.emoji === w));
}

/** An emoji's name, if it is in the built-in list. */
export function emojiName(emoji) {
  return EMOJI.find((e) => e.emoji === emoji)?.name ?? null;
}
