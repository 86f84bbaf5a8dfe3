use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, ChaCha20Poly1305};
use std::time::Instant;
fn main() {
    let key = [7u8; 32];
    let aead = XChaCha20Poly1305::new(&key.into());
    let msg = vec![42u8; 900];
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let ct = aead.encrypt(&nonce, Payload { msg: &msg, aad: b"vigil-store\0index\0abcdefgh" }).unwrap();
    let t = Instant::now();
    for _ in 0..100_000 {
        std::hint::black_box(aead.decrypt(&nonce, Payload { msg: &ct, aad: b"vigil-store\0index\0abcdefgh" }).unwrap());
    }
    println!("xchacha20poly1305 100k x 900B: {:?}", t.elapsed());
    let a2 = ChaCha20Poly1305::new(&key.into());
    let n2 = ChaCha20Poly1305::generate_nonce(&mut OsRng);
    let ct2 = a2.encrypt(&n2, Payload { msg: &msg, aad: b"x" }).unwrap();
    let t = Instant::now();
    for _ in 0..100_000 {
        std::hint::black_box(a2.decrypt(&n2, Payload { msg: &ct2, aad: b"x" }).unwrap());
    }
    println!("chacha20poly1305 100k x 900B: {:?}", t.elapsed());
}
