//! Taking the location out of a photo's metadata, in place.
//!
//! Cameras and phones write where a photo was taken into its EXIF block
//! (the GPS directory) and often repeat it in XMP. Scrubbing empties the
//! GPS directory (its entries and the values they point to are zeroed, its
//! entry count set to 0) and blanks XMP packets with spaces. The file
//! keeps its length and every other byte: offsets stay valid, the pixels,
//! the orientation and the rest of EXIF are untouched, and an animated
//! picture stays animated. JPEG (APP1), PNG (`eXIf`, CRC recomputed) and
//! WebP (`EXIF`, `XMP `) are handled; other files are left alone.

use std::io::{self, Read, Seek, SeekFrom, Write};

/// The largest metadata block read into memory (a JPEG segment is at most
/// 64 KiB; PNG and WebP allow more, which no camera writes).
const MAX_BLOCK: u64 = 1 << 20;

const GPS_IFD: u16 = 0x8825;
const XMP_JPEG: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";

/// Removes location metadata from the picture in `f` (its media type is
/// `mime`). Returns whether anything was changed.
pub fn scrub_location<F: Read + Write + Seek>(f: &mut F, mime: &str) -> io::Result<bool> {
    match mime {
        "image/jpeg" => jpeg(f),
        "image/png" => png(f),
        "image/webp" => webp(f),
        _ => Ok(false),
    }
}

fn read_at<F: Read + Seek>(f: &mut F, at: u64, len: usize) -> io::Result<Vec<u8>> {
    f.seek(SeekFrom::Start(at))?;
    let mut buf = vec![0; len];
    f.read_exact(&mut buf)?;
    Ok(buf)
}

fn write_at<F: Write + Seek>(f: &mut F, at: u64, bytes: &[u8]) -> io::Result<()> {
    f.seek(SeekFrom::Start(at))?;
    f.write_all(bytes)
}

/// JPEG: the segments before the scan, APP1 holding `Exif` or XMP.
fn jpeg<F: Read + Write + Seek>(f: &mut F) -> io::Result<bool> {
    let len = f.seek(SeekFrom::End(0))?;
    let mut at = 2u64; // after SOI
    let mut changed = false;
    while at + 4 <= len {
        let head = read_at(f, at, 4)?;
        if head[0] != 0xff {
            break;
        }
        let marker = head[1];
        if marker == 0xff {
            at += 1; // fill byte
            continue;
        }
        if marker == 0xda || marker == 0xd9 {
            break; // the scan: no metadata after this point matters
        }
        if (0xd0..=0xd7).contains(&marker) || marker == 0x01 {
            at += 2;
            continue;
        }
        let seg = u64::from(u16::from_be_bytes([head[2], head[3]]));
        if seg < 2 || at + 2 + seg > len {
            break;
        }
        if marker == 0xe1 {
            let start = at + 4;
            let mut data = read_at(f, start, (seg - 2) as usize)?;
            let hit = if data.starts_with(b"Exif\0\0") {
                scrub_tiff(&mut data[6..])
            } else if data.starts_with(XMP_JPEG) {
                blank(&mut data[XMP_JPEG.len()..])
            } else {
                false
            };
            if hit {
                write_at(f, start, &data)?;
                changed = true;
            }
        }
        at += 2 + seg;
    }
    Ok(changed)
}

/// PNG: `eXIf` chunks (the CRC is recomputed).
fn png<F: Read + Write + Seek>(f: &mut F) -> io::Result<bool> {
    let len = f.seek(SeekFrom::End(0))?;
    let mut at = 8u64;
    let mut changed = false;
    while at + 12 <= len {
        let head = read_at(f, at, 8)?;
        let size = u64::from(u32::from_be_bytes([head[0], head[1], head[2], head[3]]));
        let kind = &head[4..8];
        if at + 12 + size > len {
            break;
        }
        if kind == b"eXIf" && size <= MAX_BLOCK {
            let mut chunk = read_at(f, at + 4, 4 + size as usize)?;
            if scrub_tiff(&mut chunk[4..]) {
                let crc = crc32fast::hash(&chunk);
                write_at(f, at + 4, &chunk)?;
                f.write_all(&crc.to_be_bytes())?;
                changed = true;
            }
        }
        if kind == b"IEND" {
            break;
        }
        at += 12 + size;
    }
    Ok(changed)
}

/// WebP: the `EXIF` and `XMP ` chunks of the RIFF container.
fn webp<F: Read + Write + Seek>(f: &mut F) -> io::Result<bool> {
    let len = f.seek(SeekFrom::End(0))?;
    let mut at = 12u64;
    let mut changed = false;
    while at + 8 <= len {
        let head = read_at(f, at, 8)?;
        let size = u64::from(u32::from_le_bytes([head[4], head[5], head[6], head[7]]));
        if at + 8 + size > len {
            break;
        }
        let kind = &head[0..4];
        if (kind == b"EXIF" || kind == b"XMP ") && size <= MAX_BLOCK {
            let mut data = read_at(f, at + 8, size as usize)?;
            let hit = if kind == b"XMP " {
                blank(&mut data)
            } else if data.starts_with(b"Exif\0\0") {
                scrub_tiff(&mut data[6..])
            } else {
                scrub_tiff(&mut data)
            };
            if hit {
                write_at(f, at + 8, &data)?;
                changed = true;
            }
        }
        at += 8 + size + (size & 1);
    }
    Ok(changed)
}

/// An XMP packet becomes spaces (whitespace a reader skips).
fn blank(data: &mut [u8]) -> bool {
    if data.iter().all(|&b| b == b' ') {
        return false;
    }
    data.fill(b' ');
    true
}

/// Empties the GPS directory of a TIFF structure (EXIF's layout). Returns
/// whether it held anything.
pub fn scrub_tiff(t: &mut [u8]) -> bool {
    let big = match t.get(0..4) {
        Some(b"II*\0") => false,
        Some(b"MM\0*") => true,
        _ => return false,
    };
    let u16_at = |t: &[u8], i: usize| -> Option<u16> {
        let b = t.get(i..i + 2)?;
        Some(if big {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            u16::from_le_bytes([b[0], b[1]])
        })
    };
    let u32_at = |t: &[u8], i: usize| -> Option<u32> {
        let b = t.get(i..i + 4)?;
        let b = [b[0], b[1], b[2], b[3]];
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let Some(ifd0) = u32_at(t, 4).map(|o| o as usize) else {
        return false;
    };
    let Some(n) = u16_at(t, ifd0) else {
        return false;
    };
    let gps = (0..usize::from(n)).find_map(|k| {
        let e = ifd0 + 2 + 12 * k;
        (u16_at(t, e)? == GPS_IFD)
            .then(|| u32_at(t, e + 8))
            .flatten()
    });
    let Some(gps) = gps.map(|o| o as usize) else {
        return false;
    };
    let Some(count) = u16_at(t, gps) else {
        return false;
    };
    if count == 0 {
        return false;
    }
    for k in 0..usize::from(count) {
        let e = gps + 2 + 12 * k;
        let (Some(kind), Some(items)) = (u16_at(t, e + 2), u32_at(t, e + 4)) else {
            break;
        };
        let unit: u64 = match kind {
            1 | 2 | 6 | 7 => 1,
            3 | 8 => 2,
            4 | 9 | 11 => 4,
            5 | 10 | 12 => 8,
            _ => 0,
        };
        let size = unit * u64::from(items);
        if size > 4
            && let Some(off) = u32_at(t, e + 8).map(|o| o as usize)
            && let Some(end) = off.checked_add(size as usize)
            && end <= t.len()
        {
            t[off..end].fill(0);
        }
        if let Some(entry) = t.get_mut(e..e + 12) {
            entry.fill(0);
        }
    }
    if let Some(c) = t.get_mut(gps..gps + 2) {
        c.fill(0);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A little-endian TIFF block: IFD0 with an orientation and a GPS
    /// pointer; a GPS directory with a latitude (3 rationals, stored out
    /// of line) and its reference `N`.
    pub(crate) fn exif_with_location() -> Vec<u8> {
        let mut t = Vec::new();
        t.extend(b"II*\0");
        t.extend(8u32.to_le_bytes());
        // IFD0 at 8: 2 entries.
        t.extend(2u16.to_le_bytes());
        t.extend(0x0112u16.to_le_bytes()); // Orientation
        t.extend(3u16.to_le_bytes());
        t.extend(1u32.to_le_bytes());
        t.extend(6u32.to_le_bytes()); // rotate 90
        t.extend(GPS_IFD.to_le_bytes());
        t.extend(4u16.to_le_bytes());
        t.extend(1u32.to_le_bytes());
        t.extend(38u32.to_le_bytes()); // GPS IFD offset
        t.extend(0u32.to_le_bytes()); // no next IFD
        assert_eq!(t.len(), 38);
        // GPS IFD at 38: 2 entries, then the latitude at 38+2+24+4 = 68.
        t.extend(2u16.to_le_bytes());
        t.extend(1u16.to_le_bytes()); // GPSLatitudeRef
        t.extend(2u16.to_le_bytes());
        t.extend(2u32.to_le_bytes());
        t.extend(*b"N\0\0\0");
        t.extend(2u16.to_le_bytes()); // GPSLatitude
        t.extend(5u16.to_le_bytes());
        t.extend(3u32.to_le_bytes());
        t.extend(68u32.to_le_bytes());
        t.extend(0u32.to_le_bytes());
        for (num, den) in [(51u32, 1u32), (30, 1), (2661, 100)] {
            t.extend(num.to_le_bytes());
            t.extend(den.to_le_bytes());
        }
        t
    }

    fn has_latitude(bytes: &[u8]) -> bool {
        let lat = 2661u32.to_le_bytes();
        bytes.windows(4).any(|w| w == lat)
    }

    fn jpeg_with(exif: &[u8]) -> Vec<u8> {
        let mut j = vec![0xff, 0xd8];
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend(exif);
        j.extend([0xff, 0xe1]);
        j.extend(((app1.len() + 2) as u16).to_be_bytes());
        j.extend(&app1);
        let mut xmp = XMP_JPEG.to_vec();
        xmp.extend(b"<x:xmpmeta><rdf:Description exif:GPSLatitude=\"51,30.4N\"/></x:xmpmeta>");
        j.extend([0xff, 0xe1]);
        j.extend(((xmp.len() + 2) as u16).to_be_bytes());
        j.extend(&xmp);
        j.extend([0xff, 0xda, 0x00, 0x02, 0x12, 0x34, 0xff, 0xd9]);
        j
    }

    #[test]
    fn a_jpeg_loses_its_location_and_keeps_everything_else() {
        let before = jpeg_with(&exif_with_location());
        assert!(has_latitude(&before));
        let mut f = Cursor::new(before.clone());
        assert!(scrub_location(&mut f, "image/jpeg").unwrap());
        let after = f.into_inner();
        assert_eq!(after.len(), before.len());
        assert!(!has_latitude(&after));
        assert!(!after.windows(11).any(|w| w == b"GPSLatitude"));
        // The orientation entry and the scan are untouched.
        let orientation = [0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0];
        assert!(after.windows(10).any(|w| w == orientation));
        assert_eq!(after[after.len() - 8..], before[before.len() - 8..]);
        // A second pass finds nothing to do.
        let mut again = Cursor::new(after);
        assert!(!scrub_location(&mut again, "image/jpeg").unwrap());
    }

    #[test]
    fn a_png_exif_chunk_is_scrubbed_with_a_valid_crc() {
        let exif = exif_with_location();
        let mut p = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut chunk = b"eXIf".to_vec();
        chunk.extend(&exif);
        p.extend((exif.len() as u32).to_be_bytes());
        p.extend(&chunk);
        p.extend(crc32fast::hash(&chunk).to_be_bytes());
        p.extend(0u32.to_be_bytes());
        p.extend(b"IEND");
        p.extend(crc32fast::hash(b"IEND").to_be_bytes());
        let mut f = Cursor::new(p);
        assert!(scrub_location(&mut f, "image/png").unwrap());
        let after = f.into_inner();
        assert!(!has_latitude(&after));
        let data = &after[12..12 + 4 + exif.len()];
        let crc = &after[12 + 4 + exif.len()..16 + 4 + exif.len()];
        assert_eq!(crc, crc32fast::hash(data).to_be_bytes());
    }

    #[test]
    fn a_webp_exif_chunk_is_scrubbed() {
        let exif = exif_with_location();
        let mut w = b"RIFF\0\0\0\0WEBP".to_vec();
        w.extend(b"EXIF");
        w.extend((exif.len() as u32).to_le_bytes());
        w.extend(&exif);
        let mut f = Cursor::new(w);
        assert!(scrub_location(&mut f, "image/webp").unwrap());
        assert!(!has_latitude(&f.into_inner()));
    }

    #[test]
    fn broken_metadata_is_left_alone_without_a_panic() {
        let exif = exif_with_location();
        for cut in 0..exif.len() {
            let mut t = exif[..cut].to_vec();
            let _ = scrub_tiff(&mut t);
            let mut f = Cursor::new(jpeg_with(&exif[..cut]));
            let _ = scrub_location(&mut f, "image/jpeg").unwrap();
        }
        let mut t = exif.clone();
        t[40..42].copy_from_slice(&0xffffu16.to_le_bytes()); // absurd count
        assert!(scrub_tiff(&mut t));
        assert!(!has_latitude(&t));
    }
}
