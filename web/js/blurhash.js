// BlurHash placeholders: a picture's colours in 20–30 characters, painted
// while the picture itself loads. Decoded here from the published
// description of the format:
//
// - Digits are base 83 (the alphabet below).
// - Character 0: the number of components, `(y - 1) * 9 + (x - 1)`.
// - Character 1: the largest AC value, quantised: `(q + 1) / 166`.
// - Characters 2–5: the DC component, an sRGB colour as 24 bits.
// - Then 2 characters per AC component, row by row: each channel is
//   quantised to 19 steps, `r * 19² + g * 19 + b`, and stands for
//   `signedPow((q - 9) / 9, 2) * maximum`.
//
// A pixel is the sum over components of the colour (in linear light)
// times `cos(π·x·i / width) · cos(π·y·j / height)`, turned back to sRGB.

const DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~';
const VALUE = new Map([...DIGITS].map((c, i) => [c, i]));

function base83(text, from, to) {
  let n = 0;
  for (let i = from; i < to; i += 1) {
    const d = VALUE.get(text[i]);
    if (d === undefined) throw new Error('not a blurhash');
    n = n * 83 + d;
  }
  return n;
}

/** An sRGB channel (0–255) in linear light (0–1). */
function toLinear(v) {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

/** A linear channel (0–1) as sRGB (0–255). */
function toSrgb(v) {
  const c = Math.min(1, Math.max(0, v));
  return Math.round(c <= 0.0031308 ? c * 12.92 * 255 : (1.055 * c ** (1 / 2.4) - 0.055) * 255);
}

const signedSquare = (v) => Math.sign(v) * v * v;

/** The components of a hash: `{nx, ny, colours: [[r, g, b] linear]}`; throws on a malformed one. */
function components(hash, punch) {
  if (typeof hash !== 'string' || hash.length < 6) throw new Error('not a blurhash');
  const size = base83(hash, 0, 1);
  const nx = (size % 9) + 1;
  const ny = Math.floor(size / 9) + 1;
  if (hash.length !== 4 + 2 * nx * ny) throw new Error('not a blurhash');
  const maximum = ((base83(hash, 1, 2) + 1) / 166) * punch;
  const dc = base83(hash, 2, 6);
  const colours = [[toLinear(dc >> 16), toLinear((dc >> 8) & 255), toLinear(dc & 255)]];
  for (let k = 1; k < nx * ny; k += 1) {
    const q = base83(hash, 4 + k * 2, 6 + k * 2);
    colours.push(
      [Math.floor(q / 361), Math.floor(q / 19) % 19, q % 19].map((c) => signedSquare((c - 9) / 9) * maximum),
    );
  }
  return { nx, ny, colours };
}

/** Whether `hash` is a well-formed BlurHash. */
export function isBlurhash(hash) {
  try {
    components(hash, 1);
    return true;
  } catch {
    return false;
  }
}

/**
 * Decodes `hash` into `width × height` RGBA pixels (a `Uint8ClampedArray`
 * for `ImageData`). `punch` above 1 makes the colours stronger.
 */
export function decode(hash, width, height, punch = 1) {
  const { nx, ny, colours } = components(hash, punch);
  const pixels = new Uint8ClampedArray(width * height * 4);
  // The cosines of each column and row, computed once.
  const cx = Array.from({ length: nx }, (_, i) => Float64Array.from({ length: width }, (_, x) => Math.cos((Math.PI * x * i) / width)));
  const cy = Array.from({ length: ny }, (_, j) => Float64Array.from({ length: height }, (_, y) => Math.cos((Math.PI * y * j) / height)));
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let j = 0; j < ny; j += 1) {
        for (let i = 0; i < nx; i += 1) {
          const basis = cx[i][x] * cy[j][y];
          const c = colours[j * nx + i];
          r += c[0] * basis;
          g += c[1] * basis;
          b += c[2] * basis;
        }
      }
      const at = (y * width + x) * 4;
      pixels[at] = toSrgb(r);
      pixels[at + 1] = toSrgb(g);
      pixels[at + 2] = toSrgb(b);
      pixels[at + 3] = 255;
    }
  }
  return pixels;
}

/**
 * Paints `hash` on `canvas` (a small one, stretched by CSS: a blur needs
 * few pixels). Returns false for a malformed hash, leaving it blank.
 */
export function paint(canvas, hash, { width = 32, height = 32 } = {}) {
  let pixels;
  try {
    pixels = decode(hash, width, height);
  } catch {
    return false;
  }
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  if (!ctx) return false;
  ctx.putImageData(new ImageData(pixels, width, height), 0, 0);
  return true;
}
