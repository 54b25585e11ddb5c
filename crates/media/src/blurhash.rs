//! BlurHash: a picture's blurred likeness in a short string, which a
//! client paints while the thumbnail loads. The encoding follows the
//! public BlurHash description: the picture's colours in linear light are
//! projected onto `x × y` cosine components; the first (the average
//! colour) is kept as sRGB in 4 base-83 digits, the others quantised to 19
//! levels per channel relative to the largest, 2 digits each.

use std::f32::consts::PI;

const DIGITS: &[u8; 83] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";

/// The hash of an RGB picture (`rgb` holds `width × height` pixels, 3
/// bytes each) with `x × y` components (each 1 to 9).
///
/// # Panics
/// When `rgb` is shorter than the picture or a component count is out of
/// range (callers pass their own thumbnails and constants).
pub fn encode(rgb: &[u8], width: u32, height: u32, x: u32, y: u32) -> String {
    assert!((1..=9).contains(&x) && (1..=9).contains(&y));
    assert!(rgb.len() >= (width as usize) * (height as usize) * 3);
    let (w, h) = (width as usize, height as usize);
    let linear: Vec<[f32; 3]> = rgb
        .chunks_exact(3)
        .take(w * h)
        .map(|p| [to_linear(p[0]), to_linear(p[1]), to_linear(p[2])])
        .collect();
    let mut factors = Vec::with_capacity((x * y) as usize);
    for j in 0..y as usize {
        for i in 0..x as usize {
            let norm = if i == 0 && j == 0 { 1.0 } else { 2.0 };
            let mut sum = [0f32; 3];
            for py in 0..h {
                let cy = (PI * j as f32 * py as f32 / h as f32).cos();
                for px in 0..w {
                    let basis = cy * (PI * i as f32 * px as f32 / w as f32).cos();
                    let c = linear[py * w + px];
                    sum[0] += basis * c[0];
                    sum[1] += basis * c[1];
                    sum[2] += basis * c[2];
                }
            }
            let scale = norm / (w * h).max(1) as f32;
            factors.push([sum[0] * scale, sum[1] * scale, sum[2] * scale]);
        }
    }
    let mut out = String::with_capacity(4 + 2 * factors.len());
    push83(&mut out, (x - 1) + (y - 1) * 9, 1);
    let ac = &factors[1..];
    let max = if ac.is_empty() {
        push83(&mut out, 0, 1);
        1.0
    } else {
        let actual = ac
            .iter()
            .flat_map(|c| c.iter())
            .fold(0f32, |m, v| m.max(v.abs()));
        let quantised = ((actual * 166.0 - 0.5).floor()).clamp(0.0, 82.0) as u32;
        push83(&mut out, quantised, 1);
        (quantised as f32 + 1.0) / 166.0
    };
    let dc = factors[0];
    push83(
        &mut out,
        (to_srgb(dc[0]) << 16) + (to_srgb(dc[1]) << 8) + to_srgb(dc[2]),
        4,
    );
    for c in ac {
        let q = |v: f32| ((sign_pow(v / max, 0.5) * 9.0 + 9.5).floor()).clamp(0.0, 18.0) as u32;
        push83(&mut out, q(c[0]) * 19 * 19 + q(c[1]) * 19 + q(c[2]), 2);
    }
    out
}

fn push83(out: &mut String, value: u32, digits: u32) {
    for i in 1..=digits {
        let d = (value / 83u32.pow(digits - i)) % 83;
        out.push(DIGITS[d as usize] as char);
    }
}

fn to_linear(v: u8) -> f32 {
    let v = f32::from(v) / 255.0;
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

fn to_srgb(v: f32) -> u32 {
    let v = v.clamp(0.0, 1.0);
    let s = if v <= 0.003_130_8 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    };
    (s * 255.0 + 0.5).floor().clamp(0.0, 255.0) as u32
}

fn sign_pow(v: f32, e: f32) -> f32 {
    v.abs().powf(e).copysign(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from83(s: &str) -> u32 {
        s.bytes().fold(0, |acc, b| {
            acc * 83 + DIGITS.iter().position(|&d| d == b).unwrap() as u32
        })
    }

    /// A decoder written from the same description, to check the encoder
    /// round trip: the picture painted back at `w × h`.
    fn paint(hash: &str, w: usize, h: usize) -> Vec<[u8; 3]> {
        let flag = from83(&hash[0..1]);
        let (nx, ny) = ((flag % 9 + 1) as usize, (flag / 9 + 1) as usize);
        let max = (from83(&hash[1..2]) as f32 + 1.0) / 166.0;
        let dc = from83(&hash[2..6]);
        let mut comps = vec![[
            to_linear((dc >> 16) as u8),
            to_linear((dc >> 8) as u8),
            to_linear(dc as u8),
        ]];
        for k in 1..nx * ny {
            let v = from83(&hash[4 + 2 * k..6 + 2 * k]);
            let ch = |q: u32| sign_pow((q as f32 - 9.0) / 9.0, 2.0) * max;
            comps.push([ch(v / 361), ch(v / 19 % 19), ch(v % 19)]);
        }
        let mut out = Vec::new();
        for y in 0..h {
            for x in 0..w {
                let mut c = [0f32; 3];
                for j in 0..ny {
                    for i in 0..nx {
                        let b = (PI * i as f32 * x as f32 / w as f32).cos()
                            * (PI * j as f32 * y as f32 / h as f32).cos();
                        for (ch, v) in c.iter_mut().zip(comps[j * nx + i]) {
                            *ch += b * v;
                        }
                    }
                }
                out.push(c.map(|v| to_srgb(v) as u8));
            }
        }
        out
    }

    fn near(a: [u8; 3], b: [u8; 3], by: i32) -> bool {
        a.iter()
            .zip(b)
            .all(|(&x, y)| (i32::from(x) - i32::from(y)).abs() <= by)
    }

    #[test]
    fn a_plain_colour_paints_back_as_itself() {
        let colour = [200u8, 40, 90];
        let rgb: Vec<u8> = std::iter::repeat_n(colour, 64 * 32).flatten().collect();
        let hash = encode(&rgb, 64, 32, 4, 3);
        assert_eq!(hash.len(), 1 + 1 + 4 + 2 * 11);
        assert_eq!(from83(&hash[0..1]), 3 + 2 * 9);
        let dc = from83(&hash[2..6]);
        assert_eq!([(dc >> 16) as u8, (dc >> 8) as u8, dc as u8], colour);
        // The cosines are sampled on the pixel grid, so edges overshoot a
        // little (2/width of the colour in linear light).
        for p in paint(&hash, 64, 32) {
            assert!(near(p, colour, 12), "{p:?} from {hash}");
        }
    }

    #[test]
    fn a_left_to_right_gradient_paints_back_dark_to_light() {
        let (w, h) = (64usize, 32usize);
        let mut rgb = Vec::new();
        for _ in 0..h {
            for x in 0..w {
                let v = (x * 255 / (w - 1)) as u8;
                rgb.extend([v, v, v]);
            }
        }
        let hash = encode(&rgb, w as u32, h as u32, 4, 3);
        let back = paint(&hash, w, h);
        let at = |x: usize, y: usize| back[y * w + x];
        let (left, right) = (at(1, h / 2)[0], at(w - 2, h / 2)[0]);
        assert!(left < 70 && right > 190, "{left} {right} {hash}");
        assert!(near(at(16, 0), at(16, h - 1), 6), "{hash}");
    }
}
