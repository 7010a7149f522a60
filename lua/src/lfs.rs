//! `lfs`: the part of LuaFileSystem that Kong's plugins and Penlight's `pl.path` use, on std's
//! file API. request-size-limiting requires it at load time for `lfs.attributes(path, "size")`.

use std::fs::{self, FileTimes, Metadata};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mlua::{IntoLuaMulti, Lua, MultiValue, Result, Table, Value};

/// Builds the module table.
pub(crate) fn module(lua: &Lua) -> Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("_VERSION", "LuaFileSystem 1.8.0")?;
    t.raw_set(
        "attributes",
        lua.create_function(|lua, (path, which): (String, Value)| {
            attributes(lua, &path, which, fs::metadata(&path))
        })?,
    )?;
    t.raw_set(
        "symlinkattributes",
        lua.create_function(|lua, (path, which): (String, Value)| {
            attributes(lua, &path, which, fs::symlink_metadata(&path))
        })?,
    )?;
    t.raw_set(
        "currentdir",
        lua.create_function(|lua, ()| match std::env::current_dir() {
            Ok(dir) => dir.to_string_lossy().into_owned().into_lua_multi(lua),
            Err(e) => failure(lua, &e),
        })?,
    )?;
    t.raw_set(
        "mkdir",
        lua.create_function(|lua, path: String| outcome(lua, fs::create_dir(&path)))?,
    )?;
    t.raw_set(
        "rmdir",
        lua.create_function(|lua, path: String| outcome(lua, fs::remove_dir(&path)))?,
    )?;
    t.raw_set(
        "touch",
        lua.create_function(
            |lua, (path, atime, mtime): (String, Option<f64>, Option<f64>)| {
                let now = SystemTime::now();
                let at = atime.map_or(now, seconds);
                let times = FileTimes::new()
                    .set_accessed(at)
                    .set_modified(mtime.map_or(at, seconds));
                outcome(lua, fs::File::open(&path).and_then(|f| f.set_times(times)))
            },
        )?,
    )?;
    t.raw_set(
        "dir",
        lua.create_function(|lua, path: String| {
            let entries = fs::read_dir(&path).map_err(|e| {
                mlua::Error::runtime(format!("cannot open {path}: {}", strerror(&e)))
            })?;
            // LuaFileSystem lists "." and ".." too, as readdir does.
            let mut names = vec![".".to_string(), "..".to_string()].into_iter().chain(
                entries
                    .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned())),
            );
            lua.create_function_mut(move |_, ()| Ok(names.next()))
        })?,
    )?;
    Ok(t)
}

fn seconds(s: f64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs_f64(s.max(0.0))
}

/// The attribute table, or one attribute when `which` names it.
fn attributes(
    lua: &Lua,
    path: &str,
    which: Value,
    meta: std::io::Result<Metadata>,
) -> Result<MultiValue> {
    let meta = match meta {
        Ok(m) => m,
        Err(e) => {
            return (
                Value::Nil,
                format!(
                    "cannot obtain information from file '{path}': {}",
                    strerror(&e)
                ),
                e.raw_os_error().unwrap_or(0),
            )
                .into_lua_multi(lua)
        }
    };
    let values: [(&str, Value); 14] = [
        ("dev", Value::Number(meta.dev() as f64)),
        ("ino", Value::Number(meta.ino() as f64)),
        ("mode", Value::String(lua.create_string(mode(&meta))?)),
        ("nlink", Value::Number(meta.nlink() as f64)),
        ("uid", Value::Number(f64::from(meta.uid()))),
        ("gid", Value::Number(f64::from(meta.gid()))),
        ("rdev", Value::Number(meta.rdev() as f64)),
        ("access", Value::Number(meta.atime() as f64)),
        ("modification", Value::Number(meta.mtime() as f64)),
        ("change", Value::Number(meta.ctime() as f64)),
        ("size", Value::Number(meta.size() as f64)),
        (
            "permissions",
            Value::String(lua.create_string(permissions(meta.permissions().mode()))?),
        ),
        ("blocks", Value::Number(meta.blocks() as f64)),
        ("blksize", Value::Number(meta.blksize() as f64)),
    ];
    match which {
        Value::String(name) => {
            let name = name.to_str()?;
            match values.into_iter().find(|(k, _)| *k == &*name) {
                Some((_, v)) => v.into_lua_multi(lua),
                None => Err(mlua::Error::runtime(format!(
                    "invalid attribute name '{}'",
                    &*name
                ))),
            }
        }
        Value::Table(t) => fill(lua, t, values),
        _ => fill(lua, lua.create_table()?, values),
    }
}

fn fill(lua: &Lua, t: Table, values: [(&str, Value); 14]) -> Result<MultiValue> {
    for (k, v) in values {
        t.raw_set(k, v)?;
    }
    t.into_lua_multi(lua)
}

fn mode(meta: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let ft = meta.file_type();
    if ft.is_file() {
        "file"
    } else if ft.is_dir() {
        "directory"
    } else if ft.is_symlink() {
        "link"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_fifo() {
        "named pipe"
    } else if ft.is_char_device() {
        "char device"
    } else if ft.is_block_device() {
        "block device"
    } else {
        "other"
    }
}

/// `rwxr-x---` style permissions.
fn permissions(mode: u32) -> String {
    (0..9)
        .map(|i| {
            if mode & (0o400 >> i) == 0 {
                '-'
            } else {
                ['r', 'w', 'x'][i % 3]
            }
        })
        .collect()
}

/// The C library's message, without std's " (os error N)".
fn strerror(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

fn failure(lua: &Lua, e: &std::io::Error) -> Result<MultiValue> {
    (Value::Nil, strerror(e), e.raw_os_error().unwrap_or(0)).into_lua_multi(lua)
}

/// `true`, or `nil, message, errno` as LuaFileSystem returns.
fn outcome(lua: &Lua, result: std::io::Result<()>) -> Result<MultiValue> {
    match result {
        Ok(()) => true.into_lua_multi(lua),
        Err(e) => failure(lua, &e),
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{run, vm};

    #[test]
    fn attributes_dirs_and_errors() {
        let dir = std::env::temp_dir().join(format!("sluice-lfs-{}", std::process::id()));
        let lua = vm();
        lua.globals()
            .set("DIR", dir.to_string_lossy().into_owned())
            .unwrap();
        let cwd = std::env::current_dir().unwrap();
        lua.globals()
            .set("CWD", cwd.to_string_lossy().into_owned())
            .unwrap();
        run(
            &lua,
            r#"
            local lfs = require "lfs"
            assert(lfs.mkdir(DIR) == true)
            local ok, err, errno = lfs.mkdir(DIR)
            assert(ok == nil and err == "File exists" and errno == 17)
            local f = assert(io.open(DIR .. "/body", "w"))
            f:write("12345")
            f:close()
            assert(lfs.attributes(DIR .. "/body", "size") == 5)
            local attrs = lfs.attributes(DIR .. "/body")
            assert(attrs.mode == "file" and attrs.size == 5 and attrs.nlink == 1)
            assert(attrs.permissions:match("^[r-][w-][x-][r-][w-][x-][r-][w-][x-]$"))
            assert(lfs.attributes(DIR).mode == "directory")
            local into = {}
            assert(lfs.attributes(DIR, into) == into and into.mode == "directory")
            local none, msg, code = lfs.attributes(DIR .. "/nope")
            assert(none == nil and code == 2)
            assert(msg == "cannot obtain information from file '" .. DIR ..
                          "/nope': No such file or directory", msg)
            assert(not pcall(lfs.attributes, DIR, "colour"))
            assert(lfs.touch(DIR .. "/body", 1000, 2000))
            assert(lfs.attributes(DIR .. "/body", "modification") == 2000)
            assert(lfs.attributes(DIR .. "/body", "access") == 1000)
            local seen = {}
            for name in lfs.dir(DIR) do seen[#seen + 1] = name end
            table.sort(seen)
            assert(table.concat(seen, ",") == ".,..,body", table.concat(seen, ","))
            assert(lfs.symlinkattributes(DIR .. "/body", "mode") == "file")
            assert(lfs.currentdir() == CWD)
            assert(os.remove(DIR .. "/body"))
            assert(lfs.rmdir(DIR) == true)
            assert(lfs.rmdir(DIR) == nil)
            "#,
        );
    }
}
