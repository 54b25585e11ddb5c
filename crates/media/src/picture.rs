//! Pictures: their size from the header, and the thumbnail, placeholder
//! and avatar squares made from the decoded pixels.

use crate::MediaError;
use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{
    AnimationDecoder, DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage,
};
use std::io::{BufRead, Cursor, Seek};

/// The longest side of a thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 320;
/// The side of a small avatar.
pub const AVATAR_SMALL: u32 = 64;
/// The side of a large avatar.
pub const AVATAR_LARGE: u32 = 256;
/// JPEG quality of thumbnails and avatars.
const QUALITY: u8 = 82;

/// What a picture's header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Width as shown (after the EXIF orientation).
    pub width: u32,
    /// Height as shown.
    pub height: u32,
}

/// What [`process`] makes of a picture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Processed {
    /// Width as shown.
    pub width: u32,
    /// Height as shown.
    pub height: u32,
    /// A BlurHash of 4 × 3 components (fewer along a short side).
    pub blurhash: String,
    /// A JPEG whose longest side is at most [`THUMBNAIL_SIDE`].
    pub thumbnail: Vec<u8>,
    /// More than one frame (an animated GIF or WebP).
    pub animated: bool,
}

/// The two JPEG squares of an avatar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Avatar {
    /// [`AVATAR_SMALL`] pixels square.
    pub small: Vec<u8>,
    /// [`AVATAR_LARGE`] pixels square.
    pub large: Vec<u8>,
}

fn unreadable(e: impl std::fmt::Display) -> MediaError {
    MediaError::Unreadable(e.to_string())
}

fn limits(max_pixels: u64) -> Limits {
    let mut l = Limits::default();
    // Room for the decoded picture at 4 bytes a pixel, and a margin for
    // the decoder's own buffers.
    l.max_alloc = Some(max_pixels.saturating_mul(4).saturating_add(64 << 20));
    l
}

/// Opens a decoder and checks the announced size against `max_pixels`
/// before anything else is read.
fn decoder<R: BufRead + Seek + 'static>(
    reader: R,
    max_pixels: u64,
) -> Result<(ImageFormat, Box<dyn ImageDecoder>), MediaError> {
    let mut reader = ImageReader::new(reader)
        .with_guessed_format()
        .map_err(unreadable)?;
    let format = reader
        .format()
        .filter(|f| {
            matches!(
                f,
                ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP
            )
        })
        .ok_or_else(|| unreadable("not a PNG, JPEG, GIF or WebP picture"))?;
    reader.limits(limits(max_pixels));
    let decoder = reader.into_decoder().map_err(unreadable)?;
    let (w, h) = decoder.dimensions();
    let pixels = u64::from(w) * u64::from(h);
    if pixels > max_pixels {
        return Err(MediaError::TooManyPixels {
            pixels,
            max: max_pixels,
        });
    }
    if pixels == 0 {
        return Err(unreadable("the image has no pixels"));
    }
    Ok((format, Box::new(decoder)))
}

/// Reads a picture's header: its size as shown, refusing one of more
/// than `max_pixels` (a pixel flood) without decoding it.
pub fn probe<R: BufRead + Seek + 'static>(
    reader: R,
    max_pixels: u64,
) -> Result<Header, MediaError> {
    let (_, mut d) = decoder(reader, max_pixels)?;
    let (w, h) = d.dimensions();
    let orientation = d.orientation().map_err(unreadable)?;
    Ok(shown(w, h, orientation))
}

fn shown(w: u32, h: u32, o: image::metadata::Orientation) -> Header {
    use image::metadata::Orientation::*;
    match o {
        Rotate90 | Rotate270 | Rotate90FlipH | Rotate270FlipH => Header {
            width: h,
            height: w,
        },
        _ => Header {
            width: w,
            height: h,
        },
    }
}

/// Decodes a whole picture (its first frame), turned as its EXIF
/// orientation says.
fn decode(bytes: &[u8], max_pixels: u64) -> Result<(ImageFormat, DynamicImage), MediaError> {
    let (format, mut d) = decoder(Cursor::new(bytes.to_vec()), max_pixels)?;
    let orientation = d.orientation().map_err(unreadable)?;
    let mut img = DynamicImage::from_decoder(d).map_err(unreadable)?;
    img.apply_orientation(orientation);
    Ok((format, img))
}

/// Whether a GIF or WebP has more than one frame.
fn animated(format: ImageFormat, bytes: &[u8]) -> bool {
    match format {
        ImageFormat::Gif => image::codecs::gif::GifDecoder::new(Cursor::new(bytes))
            .map(|d| d.into_frames().take(2).count() > 1)
            .unwrap_or(false),
        ImageFormat::WebP => image::codecs::webp::WebPDecoder::new(Cursor::new(bytes))
            .map(|d| d.has_animation())
            .unwrap_or(false),
        _ => false,
    }
}

/// RGB on white: transparent parts of a picture become white, not black.
fn flatten(img: &DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.to_rgb8();
    }
    let rgba = img.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let p = rgba.get_pixel(x, y).0;
        let a = u32::from(p[3]);
        let over = |c: u8| ((u32::from(c) * a + 255 * (255 - a)) / 255) as u8;
        image::Rgb([over(p[0]), over(p[1]), over(p[2])])
    })
}

fn jpeg(img: &RgbImage) -> Result<Vec<u8>, MediaError> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, QUALITY)
        .encode_image(img)
        .map_err(unreadable)?;
    Ok(out)
}

/// Size, thumbnail, placeholder and animation of a picture.
pub fn process(bytes: &[u8], max_pixels: u64) -> Result<Processed, MediaError> {
    let (format, img) = decode(bytes, max_pixels)?;
    let (width, height) = (img.width(), img.height());
    let thumb = if width > THUMBNAIL_SIDE || height > THUMBNAIL_SIDE {
        img.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE)
    } else {
        img.clone()
    };
    let thumb = flatten(&thumb);
    // The placeholder is computed on a tiny copy: it holds no detail.
    let tiny = DynamicImage::ImageRgb8(thumb.clone())
        .thumbnail(32, 32)
        .to_rgb8();
    let (cx, cy) = if tiny.width() >= tiny.height() {
        (4, 3)
    } else {
        (3, 4)
    };
    Ok(Processed {
        width,
        height,
        blurhash: crate::blurhash::encode(tiny.as_raw(), tiny.width(), tiny.height(), cx, cy),
        thumbnail: jpeg(&thumb)?,
        animated: animated(format, bytes),
    })
}

/// An avatar from a picture: its centred square, in two sizes.
pub fn avatar(bytes: &[u8], max_pixels: u64) -> Result<Avatar, MediaError> {
    let (_, img) = decode(bytes, max_pixels)?;
    let side = img.width().min(img.height());
    let square = img.crop_imm(
        (img.width() - side) / 2,
        (img.height() - side) / 2,
        side,
        side,
    );
    let large = square.resize_exact(AVATAR_LARGE, AVATAR_LARGE, FilterType::CatmullRom);
    let small = large.resize_exact(AVATAR_SMALL, AVATAR_SMALL, FilterType::CatmullRom);
    Ok(Avatar {
        small: jpeg(&flatten(&small))?,
        large: jpeg(&flatten(&large))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageEncoder, Rgba, RgbaImage};

    fn png(w: u32, h: u32, f: impl Fn(u32, u32) -> Rgba<u8>) -> Vec<u8> {
        let img = RgbaImage::from_fn(w, h, f);
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgba8)
            .unwrap();
        out
    }

    fn decoded(jpeg: &[u8]) -> DynamicImage {
        image::load_from_memory_with_format(jpeg, ImageFormat::Jpeg).unwrap()
    }

    #[test]
    fn a_photo_gets_a_small_thumbnail_a_placeholder_and_its_size() {
        let bytes = png(1200, 600, |x, _| Rgba([(x / 5) as u8, 80, 200, 255]));
        let header = probe(Cursor::new(bytes.clone()), 10_000_000).unwrap();
        assert_eq!((header.width, header.height), (1200, 600));
        let p = process(&bytes, 10_000_000).unwrap();
        assert_eq!((p.width, p.height), (1200, 600));
        assert!(!p.animated);
        assert_eq!(p.blurhash.len(), 28);
        let t = decoded(&p.thumbnail);
        assert_eq!((t.width(), t.height()), (320, 160));
    }

    #[test]
    fn transparency_becomes_white_not_black() {
        let bytes = png(40, 40, |_, _| Rgba([0, 0, 0, 0]));
        let p = process(&bytes, 10_000_000).unwrap();
        let t = decoded(&p.thumbnail).to_rgb8();
        assert!(t.get_pixel(20, 20).0.iter().all(|&c| c > 240));
    }

    #[test]
    fn a_pixel_flood_is_refused_from_its_header() {
        // 30000 × 30000 announced in a few hundred bytes of PNG header: the
        // decoder is never asked for 3.6 GB.
        let mut bytes = png(1, 1, |_, _| Rgba([0, 0, 0, 255]));
        bytes[16..20].copy_from_slice(&30_000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&30_000u32.to_be_bytes());
        let crc = crc32fast::hash(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        let want = MediaError::TooManyPixels {
            pixels: 900_000_000,
            max: 50_000_000,
        };
        assert_eq!(
            probe(Cursor::new(bytes.clone()), 50_000_000),
            Err(want.clone())
        );
        assert_eq!(process(&bytes, 50_000_000), Err(want));
    }

    #[test]
    fn damaged_pictures_are_unreadable_not_a_panic() {
        let good = png(64, 64, |x, y| Rgba([x as u8, y as u8, 0, 255]));
        for cut in [8, 30, good.len() / 2, good.len() - 13] {
            assert!(matches!(
                process(&good[..cut], 10_000_000),
                Err(MediaError::Unreadable(_))
            ));
        }
        assert!(matches!(
            process(b"not a picture at all", 10_000_000),
            Err(MediaError::Unreadable(_))
        ));
    }

    #[test]
    fn an_animated_gif_is_seen_as_animated() {
        use image::codecs::gif::GifEncoder;
        let mut out = Vec::new();
        {
            let mut enc = GifEncoder::new(&mut out);
            for shade in [0u8, 255] {
                let frame =
                    image::Frame::new(RgbaImage::from_pixel(8, 8, Rgba([shade, 0, 0, 255])));
                enc.encode_frame(frame).unwrap();
            }
        }
        let p = process(&out, 10_000_000).unwrap();
        assert!(p.animated);
        assert_eq!((p.width, p.height), (8, 8));
    }

    #[test]
    fn an_avatar_is_the_centred_square() {
        // Red on the sides, green in the middle square.
        let bytes = png(300, 100, |x, _| {
            if (100..200).contains(&x) {
                Rgba([0, 255, 0, 255])
            } else {
                Rgba([255, 0, 0, 255])
            }
        });
        let a = avatar(&bytes, 10_000_000).unwrap();
        for (jpeg, side) in [(&a.small, AVATAR_SMALL), (&a.large, AVATAR_LARGE)] {
            let img = decoded(jpeg).to_rgb8();
            assert_eq!(img.dimensions(), (side, side));
            for (x, y) in [(2, 2), (side - 3, side - 3), (side / 2, side / 2)] {
                let p = img.get_pixel(x, y).0;
                assert!(p[1] > 200 && p[0] < 60, "{p:?} at {x},{y}");
            }
        }
    }
}
