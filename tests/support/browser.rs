//! A real headless Chromium, driven over WebDriver by `chromedriver`: the dashboard's stories
//! run in it, and every step it is asked to remember is kept as a screenshot.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use super::process::free_loopback_addr;
use super::wait::wait_until_within;

/// How long chromedriver may take to come up, and a page to load.
const PATIENCE: Duration = Duration::from_secs(30);

/// A browser session, with the chromedriver behind it; both end when it is dropped.
pub struct Browser {
    pub client: Client,
    driver: Child,
    story: &'static str,
    shots: u32,
    _profile: tempfile::TempDir,
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|path| path.is_file())
    })
}

impl Browser {
    /// Starts chromedriver and a headless Chromium for `story`, which names its screenshots.
    pub async fn start(story: &'static str) -> Browser {
        let missing = "The dashboard's stories need Debian's chromium and chromium-driver; \
                       run scripts/install-chromium (as root or with sudo) and test again";
        let driver_path = on_path("chromedriver").expect(missing);
        let chromium = on_path("chromium").expect(missing);
        let addr = free_loopback_addr();
        let driver = Command::new(driver_path)
            .arg(format!("--port={}", addr.port()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let url = format!("http://{addr}");
        let profile = tempfile::tempdir().expect("a browser profile directory");
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                // Background networking off: this machine reaches no outside host.
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1280,1400",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        });
        let capabilities = capabilities
            .as_object()
            .cloned()
            .expect("capabilities are an object");
        let client = wait_until_within(PATIENCE, "chromedriver to start a browser", || {
            let (url, capabilities) = (url.clone(), capabilities.clone());
            async move {
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(capabilities)
                    .connect(&url)
                    .await
                    .map_err(|e| e.to_string())
            }
        })
        .await;
        Browser {
            client,
            driver,
            story,
            shots: 0,
            _profile: profile,
        }
    }

    pub async fn go(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .expect("the browser opens the page");
    }

    /// The text of the first element `css` finds.
    pub async fn text(&self, css: &str) -> String {
        let url = self.url().await;
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} on {url}: {e}"))
            .text()
            .await
            .expect("element text")
    }

    /// The texts of every element `css` finds.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for element in self.client.find_all(Locator::Css(css)).await.expect("find") {
            texts.push(element.text().await.expect("element text"));
        }
        texts
    }

    /// An attribute of every element `css` finds.
    pub async fn attributes(&self, css: &str, name: &str) -> Vec<String> {
        let mut values = Vec::new();
        for element in self.client.find_all(Locator::Css(css)).await.expect("find") {
            values.push(
                element
                    .attr(name)
                    .await
                    .expect("attribute")
                    .unwrap_or_default(),
            );
        }
        values
    }

    /// Waits until the page shows an element `css` finds, as after a form takes the browser
    /// to another page.
    pub async fn wait_for(&self, css: &str) {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} appeared: {e}"));
    }

    pub async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .expect("find")
            .len()
    }

    pub async fn click(&self, css: &str) {
        let url = self.url().await;
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} to click on {url}: {e}"))
            .click()
            .await
            .expect("click");
    }

    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    pub async fn title(&self) -> String {
        self.client.title().await.expect("title")
    }

    /// The value of the cookie `name` on the current page.
    pub async fn cookie(&self, name: &str) -> Option<String> {
        self.client
            .get_named_cookie(name)
            .await
            .ok()
            .map(|c| c.value().to_owned())
    }

    /// Keeps what the browser shows now as `{story}-{n}-{step}.png` in the test output's
    /// screenshot directory, and returns its path.
    pub async fn screenshot(&mut self, step: &str) -> PathBuf {
        self.shots += 1;
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&dir).expect("the screenshot directory");
        let path = dir.join(format!("{}-{:02}-{step}.png", self.story, self.shots));
        let png = self.client.screenshot().await.expect("a screenshot");
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }

    /// Closes the browser and stops chromedriver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
