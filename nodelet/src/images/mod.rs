//! The image catalog: there is no registry, so an image name resolves to a command line.
//!
//! Built in (any tag; `docker.io/` and `library/` prefixes are tolerated):
//!
//! | image | runs |
//! |---|---|
//! | `luksa/kubia`, `heejeong/crane` | HTTP server on `$POD_IP:8080`: 200 `You've hit <pod name>` |
//! | `luksa/kubia-unhealthy` | the same, but 500 from the 6th request on |
//! | `luksa/batch-job` | start line, 120 s of work (`SKIFF_BATCH_JOB_SECONDS`), `Finished successfully` |
//! | `luksa/ssd-monitor` | a status line every 5 s, forever |
//! | `busybox` | the container's `command`/`args` from the node's `PATH` (default `sh`) |
//!
//! The stand-ins are this binary's hidden `image NAME` subcommand (see [`standins`]).
//! A user catalog file ([`catalog_file`]) adds images and overrides built-ins.

pub mod catalog_file;
mod expand;
mod reference;
pub mod standins;

use std::path::{Path, PathBuf};

pub use expand::expand_references;
pub use reference::ImageRef;

use catalog_file::CatalogLine;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("invalid image reference {image:?}: {reason}")]
    InvalidReference { image: String, reason: String },
    /// The image is in no catalog: the agent reports ErrImagePull / ImagePullBackOff.
    #[error("image \"{image}\" not found: it is neither a built-in stand-in ({}) nor in the node's image catalog file", builtin_names())]
    NotFound { image: String },
    #[error("no command specified for a container of image \"{image}\"")]
    NoCommand { image: String },
    #[error("{file}:{line}: {message}")]
    Catalog {
        file: String,
        line: usize,
        message: String,
    },
    #[error("reading image catalog {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What an image runs when the container does not say otherwise (Docker's ENTRYPOINT
/// and CMD).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageConfig {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
}

/// Built-in images and the stand-in each runs (`skiff-nodelet image <stand-in>`).
pub const BUILTIN_STANDINS: &[(&str, &str)] = &[
    ("luksa/kubia", "kubia"),
    ("heejeong/crane", "kubia"),
    ("luksa/kubia-unhealthy", "kubia-unhealthy"),
    ("luksa/batch-job", "batch-job"),
    ("luksa/ssd-monitor", "ssd-monitor"),
];

fn builtin_names() -> String {
    let mut names: Vec<&str> = BUILTIN_STANDINS.iter().map(|(image, _)| *image).collect();
    names.push("busybox");
    names.join(", ")
}

/// Maps image names to what they run.
#[derive(Debug, Clone)]
pub struct ImageCatalog {
    nodelet_exe: PathBuf,
    user: Vec<CatalogLine>,
}

impl ImageCatalog {
    /// The built-in images; `nodelet_exe` is the binary whose `image` subcommand runs the
    /// stand-ins (normally `skiff-nodelet-shim`; `skiff-nodelet` has the subcommand too).
    pub fn new(nodelet_exe: impl Into<PathBuf>) -> Self {
        ImageCatalog {
            nodelet_exe: nodelet_exe.into(),
            user: Vec::new(),
        }
    }

    /// Adds the entries of a catalog file (format: [`catalog_file`]); they override
    /// built-ins and earlier entries.
    pub fn load_file(&mut self, path: &Path) -> Result<(), ImageError> {
        let text = std::fs::read_to_string(path).map_err(|source| ImageError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        self.add_entries(&text, &path.display().to_string())
    }

    /// Adds entries in the catalog file format; `origin` names them in errors.
    pub fn add_entries(&mut self, text: &str, origin: &str) -> Result<(), ImageError> {
        let exe = self.nodelet_exe.to_string_lossy().into_owned();
        for mut line in catalog_file::parse(text, origin)? {
            if line.argv[0] == "skiff-nodelet" {
                line.argv[0] = exe.clone();
            }
            self.user.push(line);
        }
        Ok(())
    }

    /// What `image` runs by default.
    pub fn lookup(&self, image: &str) -> Result<ImageConfig, ImageError> {
        let reference = ImageRef::parse(image)?;
        // Later entries win; a tagged entry is more specific than an untagged one.
        let user = self
            .user
            .iter()
            .rev()
            .find(|l| l.name == reference.name && l.tag.as_deref() == Some(&reference.tag))
            .or_else(|| {
                self.user
                    .iter()
                    .rev()
                    .find(|l| l.name == reference.name && l.tag.is_none())
            });
        if let Some(line) = user {
            return Ok(ImageConfig {
                entrypoint: line.argv.clone(),
                cmd: Vec::new(),
            });
        }
        if reference.name == "busybox" {
            return Ok(ImageConfig {
                entrypoint: Vec::new(),
                cmd: vec!["sh".into()],
            });
        }
        let standin = BUILTIN_STANDINS
            .iter()
            .find(|(name, _)| *name == reference.name)
            .map(|(_, standin)| *standin)
            .ok_or_else(|| ImageError::NotFound {
                image: image.to_string(),
            })?;
        Ok(ImageConfig {
            entrypoint: vec![
                self.nodelet_exe.to_string_lossy().into_owned(),
                "image".into(),
                standin.into(),
            ],
            cmd: Vec::new(),
        })
    }

    /// The command line of a container, with Kubernetes semantics: `command` replaces
    /// the image's entrypoint (and drops its default args), `args` replace the default
    /// args. Empty `command`/`args` mean "not set". `$(VAR)` references are not expanded
    /// here: see [`expand_references`].
    pub fn resolve(
        &self,
        image: &str,
        command: &[String],
        args: &[String],
    ) -> Result<Vec<String>, ImageError> {
        let config = self.lookup(image)?;
        let argv: Vec<String> = match (command.is_empty(), args.is_empty()) {
            (false, _) => command.iter().chain(args).cloned().collect(),
            (true, false) => config.entrypoint.iter().chain(args).cloned().collect(),
            (true, true) => config.entrypoint.into_iter().chain(config.cmd).collect(),
        };
        if argv.is_empty() {
            return Err(ImageError::NoCommand {
                image: image.to_string(),
            });
        }
        Ok(argv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn builtins_resolve_to_the_standins() {
        let catalog = ImageCatalog::new("/bin/skiff-nodelet");
        let kubia = v(&["/bin/skiff-nodelet", "image", "kubia"]);
        for image in [
            "luksa/kubia",
            "luksa/kubia:latest",
            "docker.io/luksa/kubia",
            "heejeong/crane",
        ] {
            assert_eq!(catalog.resolve(image, &[], &[]).unwrap(), kubia, "{image}");
        }
        assert_eq!(
            catalog
                .resolve("luksa/kubia-unhealthy", &[], &v(&["-x"]))
                .unwrap(),
            v(&["/bin/skiff-nodelet", "image", "kubia-unhealthy", "-x"])
        );
    }

    #[test]
    fn command_and_args_follow_kubernetes() {
        let catalog = ImageCatalog::new("/n");
        assert_eq!(catalog.resolve("busybox", &[], &[]).unwrap(), v(&["sh"]));
        assert_eq!(
            catalog
                .resolve("busybox:1.36", &v(&["sleep"]), &v(&["10"]))
                .unwrap(),
            v(&["sleep", "10"])
        );
        // args alone replace busybox's default `sh`: its entrypoint is empty.
        assert_eq!(
            catalog
                .resolve("busybox", &[], &v(&["echo", "hi"]))
                .unwrap(),
            v(&["echo", "hi"])
        );
        // command replaces a stand-in's entrypoint.
        assert_eq!(
            catalog.resolve("luksa/kubia", &v(&["true"]), &[]).unwrap(),
            v(&["true"])
        );
    }

    #[test]
    fn unknown_images_are_a_distinct_error_naming_the_image() {
        let catalog = ImageCatalog::new("/n");
        let err = catalog.resolve("nginx:1.25", &[], &[]).unwrap_err();
        assert!(matches!(&err, ImageError::NotFound { image } if image == "nginx:1.25"));
        assert!(err.to_string().contains("\"nginx:1.25\""));
    }

    #[test]
    fn user_entries_override_builtins_and_match_tags() {
        let mut catalog = ImageCatalog::new("/n");
        catalog
            .add_entries(
                "luksa/kubia = skiff-nodelet image kubia-unhealthy\nmyorg/web:2 = /srv/web2\nmyorg/web = /srv/web\n",
                "test",
            )
            .unwrap();
        assert_eq!(
            catalog.resolve("luksa/kubia", &[], &[]).unwrap(),
            v(&["/n", "image", "kubia-unhealthy"])
        );
        assert_eq!(
            catalog.resolve("myorg/web:2", &[], &[]).unwrap(),
            v(&["/srv/web2"])
        );
        assert_eq!(
            catalog.resolve("myorg/web:1", &[], &[]).unwrap(),
            v(&["/srv/web"])
        );
        assert_eq!(
            catalog
                .resolve("myorg/web", &[], &v(&["--port", "80"]))
                .unwrap(),
            v(&["/srv/web", "--port", "80"])
        );
    }
}
