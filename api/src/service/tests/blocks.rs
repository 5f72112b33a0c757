//! A file version read across the blocks of its manifest: whole and by range, with
//! the whole-content blob gone; a manifest that disagrees with the file's size is
//! an error, never wrong bytes.
use entity::content_block;
use futures_util::TryStreamExt;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};

use super::fixture;
use crate::service::Role;

async fn read(
    s: &crate::service::Services,
    caller: &crate::service::Caller,
    start: u64,
    len: u64,
) -> Vec<u8> {
    let open = s.open_file(caller, "/big.bin", None).await.expect("open");
    open.content
        .stream(start, len, 3)
        .map_ok(|b| b.to_vec())
        .try_concat()
        .await
        .expect("read")
}

async fn a_version_reads_across_its_blocks(postgres: bool) {
    let Some(f) = fixture(postgres).await else {
        return;
    };
    let s = &f.services;
    s.create_user(Some(&f.admin), "alice", "alice-password", Role::User)
        .await
        .expect("alice");
    let alice = s
        .authenticate(&f.login("alice", "alice-password", None).await)
        .await
        .expect("alice");
    let whole = b"aaaabbbbcc";
    let mut writer = s
        .write_file(&alice, "/big.bin", Some(whole.len() as u64))
        .await
        .expect("writer");
    writer.write(whole.to_vec().into()).await.expect("write");
    let file = writer.commit().await.expect("commit");

    // Store it again as three blocks and drop the whole blob.
    let mut rows = Vec::new();
    for (n, piece) in [&whole[..4], &whole[4..8], &whole[8..]].iter().enumerate() {
        let sha = hex::encode(Sha256::digest(piece));
        let temp = s.inner.blobs.temp_path();
        tokio::fs::write(&temp, piece).await.expect("temp");
        s.inner.blobs.adopt_file(&temp, &sha).await.expect("adopt");
        rows.push(content_block::ActiveModel {
            content_sha256: Set(file.sha256.clone()),
            position: Set(n as i32),
            block_sha256: Set(sha),
            size: Set(piece.len() as i64),
        });
    }
    content_block::Entity::delete_many()
        .filter(content_block::Column::ContentSha256.eq(&file.sha256))
        .exec(s.db())
        .await
        .expect("old manifest");
    content_block::Entity::insert_many(rows)
        .exec(s.db())
        .await
        .expect("manifest");
    tokio::fs::remove_file(s.inner.blobs.block_path(&file.sha256).expect("path"))
        .await
        .expect("drop the whole blob");

    let open = s.open_file(&alice, "/big.bin", None).await.expect("open");
    assert_eq!(open.content.block_count(), 3);
    assert_eq!(read(s, &alice, 0, 10).await, whole);
    assert_eq!(read(s, &alice, 3, 4).await, b"abbb");
    assert_eq!(read(s, &alice, 7, 3).await, b"bcc");
    let mut cursor = open.content.cursor();
    assert_eq!(cursor.read_at(2, 7).expect("read"), b"aabbbbc");

    // A manifest one byte short of the file is refused.
    content_block::Entity::update_many()
        .col_expr(
            content_block::Column::Size,
            sea_orm::sea_query::Expr::value(1i64),
        )
        .filter(content_block::Column::ContentSha256.eq(&file.sha256))
        .filter(content_block::Column::Position.eq(2))
        .exec(s.db())
        .await
        .expect("break");
    let err = s
        .open_file(&alice, "/big.bin", None)
        .await
        .expect_err("a short manifest");
    assert_eq!(err.code(), crate::service::Code::Internal);
}

on_both!(a_version_reads_across_its_blocks);
