//! How long a recording lasts, read from its container's headers (never
//! by decoding it): MP4/QuickTime/M4A (`mvhd`), Ogg (Opus or Vorbis, from
//! the last page's granule position), WAV and FLAC. Other containers
//! (WebM as browsers record it, MP3) answer `None`.

use std::io::{self, Read, Seek, SeekFrom};

/// The most of a `moov` box or a file's tail that is read.
const MAX_READ: u64 = 16 << 20;

/// The duration in milliseconds of the recording in `f`, of media type
/// `mime`, when its headers say.
pub fn duration_ms<F: Read + Seek>(f: &mut F, mime: &str) -> Option<u64> {
    let ms = match mime {
        "video/mp4" | "audio/mp4" | "video/quicktime" => mp4(f),
        "audio/ogg" => ogg(f),
        "audio/wav" => wav(f),
        "audio/flac" => flac(f),
        _ => Ok(None),
    };
    ms.ok().flatten().filter(|&ms| ms > 0)
}

fn read_at<F: Read + Seek>(f: &mut F, at: u64, len: usize) -> io::Result<Vec<u8>> {
    f.seek(SeekFrom::Start(at))?;
    let mut buf = vec![0; len];
    f.read_exact(&mut buf)?;
    Ok(buf)
}

fn be32(b: &[u8], i: usize) -> Option<u64> {
    Some(u64::from(u32::from_be_bytes(
        b.get(i..i + 4)?.try_into().ok()?,
    )))
}

fn be64(b: &[u8], i: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(i..i + 8)?.try_into().ok()?))
}

/// `(start of body, body length, type)` of each box in `[at, end)`.
fn boxes<F: Read + Seek>(f: &mut F, mut at: u64, end: u64) -> io::Result<Vec<(u64, u64, [u8; 4])>> {
    let mut out = Vec::new();
    while at + 8 <= end {
        let h = read_at(f, at, 8)?;
        let kind = [h[4], h[5], h[6], h[7]];
        let (header, size) = match be32(&h, 0).unwrap_or(0) {
            0 => (8, end - at),
            1 => {
                if at + 16 > end {
                    break;
                }
                let big = read_at(f, at + 8, 8)?;
                (16, be64(&big, 0).unwrap_or(0))
            }
            n => (8, n),
        };
        // A size past the end (a 64-bit size can be anything) ends the
        // walk: never an overflow, never a step backwards.
        if size < header || at.checked_add(size).is_none_or(|next| next > end) {
            break;
        }
        out.push((at + header, size - header, kind));
        at += size;
    }
    Ok(out)
}

fn mp4<F: Read + Seek>(f: &mut F) -> io::Result<Option<u64>> {
    let len = f.seek(SeekFrom::End(0))?;
    let Some(&(moov, moov_len, _)) = boxes(f, 0, len)?.iter().find(|b| &b.2 == b"moov") else {
        return Ok(None);
    };
    let Some(&(mvhd, mvhd_len, _)) = boxes(f, moov, moov + moov_len.min(MAX_READ))?
        .iter()
        .find(|b| &b.2 == b"mvhd")
    else {
        return Ok(None);
    };
    let body = read_at(f, mvhd, mvhd_len.min(40) as usize)?;
    let (scale, units) = if body.first() == Some(&1) {
        (be32(&body, 20), be64(&body, 24))
    } else {
        (be32(&body, 12), be32(&body, 16))
    };
    Ok(match (scale, units) {
        (Some(s), Some(u)) if s > 0 && u != u64::MAX && u != u64::from(u32::MAX) => {
            Some(u.saturating_mul(1000) / s)
        }
        _ => None,
    })
}

fn ogg<F: Read + Seek>(f: &mut F) -> io::Result<Option<u64>> {
    let len = f.seek(SeekFrom::End(0))?;
    // The first page holds the codec's identification header.
    let head = read_at(f, 0, len.min(512) as usize)?;
    let Some(segments) = head.get(26).map(|&n| usize::from(n)) else {
        return Ok(None);
    };
    let packet = &head[(27 + segments).min(head.len())..];
    let (rate, skip) = if packet.starts_with(b"OpusHead") {
        let skip = packet
            .get(10..12)
            .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]));
        (48_000u64, u64::from(skip))
    } else if packet.starts_with(b"\x01vorbis") {
        let Some(b) = packet.get(12..16) else {
            return Ok(None);
        };
        (u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])), 0)
    } else {
        return Ok(None);
    };
    if rate == 0 {
        return Ok(None);
    }
    let tail_len = len.min(64 * 1024);
    let tail = read_at(f, len - tail_len, tail_len as usize)?;
    let Some(page) = tail.windows(4).rposition(|w| w == b"OggS") else {
        return Ok(None);
    };
    let Some(g) = tail.get(page + 6..page + 14) else {
        return Ok(None);
    };
    let granule = u64::from_le_bytes(g.try_into().unwrap_or([0; 8]));
    if granule == u64::MAX {
        return Ok(None);
    }
    Ok(Some(
        granule.saturating_sub(skip).saturating_mul(1000) / rate,
    ))
}

fn wav<F: Read + Seek>(f: &mut F) -> io::Result<Option<u64>> {
    let len = f.seek(SeekFrom::End(0))?;
    let mut at = 12u64;
    let mut byte_rate = None;
    while at + 8 <= len {
        let h = read_at(f, at, 8)?;
        let size = u64::from(u32::from_le_bytes([h[4], h[5], h[6], h[7]]));
        match &h[0..4] {
            b"fmt " => {
                let fmt = read_at(f, at + 8, size.min(16) as usize)?;
                byte_rate = fmt
                    .get(8..12)
                    .map(|b| u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])));
            }
            b"data" => {
                let size = size.min(len - at - 8);
                return Ok(byte_rate
                    .filter(|&r| r > 0)
                    .map(|r| size.saturating_mul(1000) / r));
            }
            _ => {}
        }
        at += 8 + size + (size & 1);
    }
    Ok(None)
}

fn flac<F: Read + Seek>(f: &mut F) -> io::Result<Option<u64>> {
    // "fLaC", a 4-byte block header, then STREAMINFO: sample rate (20 bits)
    // and total samples (36 bits) start at its byte 10.
    let h = read_at(f, 0, 4 + 4 + 18)?;
    if &h[0..4] != b"fLaC" || h[4] & 0x7f != 0 {
        return Ok(None);
    }
    let s = &h[8..];
    let rate = (u64::from(s[10]) << 12) | (u64::from(s[11]) << 4) | (u64::from(s[12]) >> 4);
    let total = (u64::from(s[13] & 0x0f) << 32)
        | (u64::from(s[14]) << 24)
        | (u64::from(s[15]) << 16)
        | (u64::from(s[16]) << 8)
        | u64::from(s[17]);
    Ok((rate > 0 && total > 0).then(|| total * 1000 / rate))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend(kind);
        b.extend(body);
        b
    }

    #[test]
    fn an_mp4_says_its_length_in_mvhd_wherever_moov_is() {
        let mut mvhd = vec![0u8; 4 + 8];
        mvhd.extend(600u32.to_be_bytes()); // timescale
        mvhd.extend(4500u32.to_be_bytes()); // 7.5 s
        mvhd.extend([0u8; 80]);
        let moov = mp4_box(b"moov", &mp4_box(b"mvhd", &mvhd));
        // moov at the end, after the media (no "fast start").
        let mut file = mp4_box(b"ftyp", b"isom\0\0\0\0");
        file.extend(mp4_box(b"mdat", &[7u8; 5000]));
        file.extend(moov);
        assert_eq!(duration_ms(&mut Cursor::new(file), "video/mp4"), Some(7500));
    }

    #[test]
    fn a_wav_is_its_data_over_its_byte_rate() {
        let mut w = b"RIFF\0\0\0\0WAVE".to_vec();
        w.extend(b"fmt ");
        w.extend(16u32.to_le_bytes());
        w.extend([1, 0, 1, 0]);
        w.extend(8000u32.to_le_bytes());
        w.extend(16000u32.to_le_bytes());
        w.extend([2, 0, 16, 0]);
        w.extend(b"data");
        w.extend(24000u32.to_le_bytes());
        w.extend(vec![0u8; 24000]);
        assert_eq!(duration_ms(&mut Cursor::new(w), "audio/wav"), Some(1500));
    }

    #[test]
    fn an_opus_file_ends_at_its_last_granule() {
        let page = |granule: u64, packet: &[u8]| {
            let mut p = b"OggS\0\0".to_vec();
            p.extend(granule.to_le_bytes());
            p.extend([0u8; 12]);
            p.push(1);
            p.push(packet.len() as u8);
            p.extend(packet);
            p
        };
        let mut head = b"OpusHead\x01\x01".to_vec();
        head.extend(312u16.to_le_bytes());
        head.extend([0u8; 7]);
        let mut file = page(0, &head);
        file.extend(page(48_000, &[1; 50]));
        file.extend(page(48_000 * 3 + 312, &[1; 50]));
        assert_eq!(duration_ms(&mut Cursor::new(file), "audio/ogg"), Some(3000));
    }

    #[test]
    fn garbage_has_no_duration_and_no_panic() {
        for mime in [
            "video/mp4",
            "audio/ogg",
            "audio/wav",
            "audio/flac",
            "video/webm",
        ] {
            for bytes in [&b""[..], b"OggS", b"fLaC\0\0\0\x22", &[0xffu8; 300][..]] {
                assert_eq!(duration_ms(&mut Cursor::new(bytes.to_vec()), mime), None);
            }
        }
    }
}
