//! The demo platform's images (the group's logo, session covers), drawn at start and encoded as PNG, so that the
//! simulated Slack shows real pictures without any network. A minimal encoder: 8-bit RGB, deflate "stored" blocks.

use std::sync::OnceLock;

/// An RGB picture.
struct Canvas {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

impl Canvas {
    fn new(width: u32, height: u32, f: impl Fn(u32, u32) -> [u8; 3]) -> Canvas {
        let mut rgb = Vec::with_capacity((width * height * 3) as usize);
        for y in 0..height {
            for x in 0..width {
                rgb.extend_from_slice(&f(x, y));
            }
        }
        Canvas { width, height, rgb }
    }

    fn encode(&self) -> Vec<u8> {
        let mut raw = Vec::with_capacity(self.rgb.len() + self.height as usize);
        let stride = (self.width * 3) as usize;
        for row in self.rgb.chunks(stride) {
            raw.push(0); // filter: none
            raw.extend_from_slice(row);
        }
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&self.width.to_be_bytes());
        ihdr.extend_from_slice(&self.height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        chunk(&mut png, b"IHDR", &ihdr);
        chunk(&mut png, b"IDAT", &zlib_stored(&raw));
        chunk(&mut png, b"IEND", &[]);
        png
    }
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(65_535).collect()
    };
    let last = blocks.len() - 1;
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i == last));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + byte as u32) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

fn mix(a: [u8; 3], b: [u8; 3], t: f32) -> [u8; 3] {
    let t = t.clamp(0.0, 1.0);
    [0, 1, 2].map(|i| (a[i] as f32 + (b[i] as f32 - a[i] as f32) * t).round() as u8)
}

const TEAL: [u8; 3] = [0x0b, 0x6e, 0x69];
const INK: [u8; 3] = [0x14, 0x2b, 0x4f];
const SUN: [u8; 3] = [0xf2, 0xb1, 0x34];
const WHITE: [u8; 3] = [0xff, 0xff, 0xff];

/// The platform group's logo: a rounded teal square with a white "A" (two strokes and a bar) and a sun dot.
pub fn logo() -> &'static [u8] {
    static PNG: OnceLock<Vec<u8>> = OnceLock::new();
    PNG.get_or_init(|| {
        let n = 128u32;
        Canvas::new(n, n, |x, y| {
            let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
            // Rounded corners (radius 24) show white.
            let r = 24.0;
            let cx = fx.clamp(r, n as f32 - r);
            let cy = fy.clamp(r, n as f32 - r);
            if (fx - cx).powi(2) + (fy - cy).powi(2) > r * r {
                return WHITE;
            }
            // The sun, top right.
            if (fx - 96.0).powi(2) + (fy - 32.0).powi(2) < 100.0 {
                return SUN;
            }
            // An "A": apex (64, 26), feet (34, 104) and (94, 104), strokes 12 px wide, bar at y 76..86.
            let stroke = |x0: f32, y0: f32, x1: f32, y1: f32| {
                let (dx, dy) = (x1 - x0, y1 - y0);
                let t = (((fx - x0) * dx + (fy - y0) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
                let (px, py) = (x0 + t * dx, y0 + t * dy);
                (fx - px).powi(2) + (fy - py).powi(2) < 36.0
            };
            let bar = (76.0..86.0).contains(&fy) && (46.0..82.0).contains(&fx);
            if stroke(64.0, 26.0, 34.0, 104.0) || stroke(64.0, 26.0, 94.0, 104.0) || bar {
                return WHITE;
            }
            mix(TEAL, INK, fy / n as f32)
        })
        .encode()
    })
}

/// A session cover: a landscape in the group's colours.
pub fn cover() -> &'static [u8] {
    static PNG: OnceLock<Vec<u8>> = OnceLock::new();
    PNG.get_or_init(|| {
        let (w, h) = (600u32, 300u32);
        Canvas::new(w, h, |x, y| {
            let (fx, fy) = (x as f32, y as f32);
            if (fx - 450.0).powi(2) + (fy - 90.0).powi(2) < 45.0 * 45.0 {
                return SUN;
            }
            let hill1 = 210.0 + 30.0 * (fx / 90.0).sin();
            let hill2 = 250.0 + 20.0 * (fx / 60.0 + 1.0).cos();
            if fy > hill2 {
                return mix(INK, [0x0a, 0x1a, 0x30], (fy - hill2) / 60.0);
            }
            if fy > hill1 {
                return mix(TEAL, INK, (fy - hill1) / 80.0);
            }
            mix([0xbf, 0xe3, 0xf0], [0xfd, 0xf1, 0xd8], fy / 220.0)
        })
        .encode()
    })
}

/// The platform's default cover: plain grey (the connector leaves it out of messages).
pub fn default_cover() -> &'static [u8] {
    static PNG: OnceLock<Vec<u8>> = OnceLock::new();
    PNG.get_or_init(|| Canvas::new(60, 30, |_, _| [0xcc, 0xcc, 0xcc]).encode())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_and_adler_match_known_values() {
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        let z = zlib_stored(b"Wikipedia");
        assert_eq!(&z[z.len() - 4..], &0x11E6_0398u32.to_be_bytes());
    }

    #[test]
    fn pngs_have_a_header_and_an_end() {
        for png in [logo(), cover(), default_cover()] {
            assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
            assert!(png.ends_with(&[0xAE, 0x42, 0x60, 0x82]));
        }
    }
}
