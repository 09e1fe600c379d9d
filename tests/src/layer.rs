//! A real, tiny image layer: a one-file tar archive in a gzip stream.
//!
//! Written by hand rather than with the `tar`/`flate2` crates so that the
//! bytes can never change with a dependency update (fixture digests are
//! committed in lock files). The gzip uses a deflate "stored" block: no
//! compression, but any gunzip and any registry client accept it, and its
//! `diff_id` (sha256 of the tar) is genuine.

/// A ustar archive holding one regular file, mode 0644, owned by root,
/// mtime 0, followed by the two zero blocks that end an archive.
pub(crate) fn tar_one_file(name: &str, content: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 512];
    put(&mut header[0..100], name.as_bytes());
    put(&mut header[100..108], b"0000644\0");
    put(&mut header[108..116], b"0000000\0");
    put(&mut header[116..124], b"0000000\0");
    put(
        &mut header[124..136],
        format!("{:011o}\0", content.len()).as_bytes(),
    );
    put(&mut header[136..148], b"00000000000\0");
    header[156] = b'0';
    put(&mut header[257..263], b"ustar\0");
    put(&mut header[263..265], b"00");
    put(&mut header[265..297], b"root");
    put(&mut header[297..329], b"root");
    // The checksum is computed with its own field read as eight spaces.
    header[148..156].fill(b' ');
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    put(&mut header[148..156], format!("{sum:06o}\0 ").as_bytes());

    let mut out = header.to_vec();
    out.extend_from_slice(content);
    let padding = (512 - content.len() % 512) % 512;
    out.resize(out.len() + padding + 1024, 0);
    out
}

/// `data` as a gzip member made of deflate stored blocks.
pub(crate) fn gzip_stored(data: &[u8]) -> Vec<u8> {
    // Header: magic, deflate, no flags, mtime 0, no extra flags, OS unknown.
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut chunks = data.chunks(0xffff).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        out.push(u8::from(last));
        // A chunk is at most 0xffff bytes, so the length fits in a u16.
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    // ISIZE is the length modulo 2^32 by definition.
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn put(field: &mut [u8], value: &[u8]) {
    let n = value.len().min(field.len());
    field[..n].copy_from_slice(&value[..n]);
}

/// CRC-32 (IEEE), bit by bit: layers here are a few KiB.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn tar_is_whole_blocks() {
        let tar = tar_one_file("a.txt", b"hello\n");
        assert_eq!(tar.len(), 512 * 4);
        assert_eq!(&tar[512..518], b"hello\n");
    }
}
