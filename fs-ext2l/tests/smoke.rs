mod common;
use common::*;
use fs_ext2l::*;

#[test]
fn smoke() {
    for (bs, isz) in [(1024, 128), (2048, 256), (4096, 256)] {
        let mut fs = new_file_system(8 << 20, bs, isz, false);
        assert_checker_clean(&mut fs);
        let root = fs.root();
        let d = fs.mkdir(root, b"dir", 0o755, 0, 0).unwrap();
        let f = fs.create(d, b"file", 0o644, 1000, 1000).unwrap();
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7) as u8).collect();
        assert_eq!(fs.write(f, 0, &data).unwrap(), data.len());
        let mut back = vec![0u8; data.len()];
        assert_eq!(fs.read(f, 0, &mut back).unwrap(), data.len());
        assert_eq!(back, data);
        fs.symlink(d, b"fast", b"file", 0, 0).unwrap();
        fs.symlink(d, b"slow", &[b'x'; 100], 0, 0).unwrap();
        fs.sync().unwrap();
        assert_checker_clean(&mut fs);
        let image = fs.unmount().unwrap().into_bytes();
        let (clean, out) = e2fsck(&image);
        assert!(clean, "bs {bs}: {out}");
    }
}
