//! Reading manifest inputs: files, directories (every `*.yaml`/`*.yml`, sorted) and stdin
//! (`-`).

use std::io::Read;
use std::path::Path;

/// One YAML stream and the name it is reported under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// File name, or `<stdin>`.
    pub name: String,
    /// The YAML text.
    pub text: String,
}

/// Reads `-f` arguments: files, directories, or `-` for stdin.
pub fn read_inputs(args: &[String]) -> std::io::Result<Vec<Input>> {
    let mut out = Vec::new();
    for arg in args {
        if arg == "-" {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            out.push(Input {
                name: "<stdin>".into(),
                text,
            });
            continue;
        }
        let path = Path::new(arg);
        if path.is_dir() {
            out.extend(read_dir(path)?);
        } else {
            out.push(read_file(path)?);
        }
    }
    Ok(out)
}

fn read_dir(dir: &Path) -> std::io::Result<Vec<Input>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
        })
        .collect();
    paths.sort();
    paths.iter().map(|p| read_file(p)).collect()
}

fn read_file(path: &Path) -> std::io::Result<Input> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    Ok(Input {
        name: path.display().to_string(),
        text,
    })
}
