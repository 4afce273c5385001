//! Prints how long the listing scan of a log directory and the full fold of one application
//! take (`timing DIR APP_ID`), to see where `sparkplane history`'s start-up time goes.

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args.first().ok_or("timing DIR [APP_ID]")?;
    let t = Instant::now();
    let h = sparkplane_history::History::load(std::path::Path::new(dir))?;
    println!("listing of {} apps: {:?}", h.apps.len(), t.elapsed());
    if let Some(id) = args.get(1) {
        let app = h.app(id, None).ok_or("no such app")?;
        let t = Instant::now();
        let n = app.state().stages().len();
        println!("fold of {id} ({n} stages): {:?}", t.elapsed());
    }
    Ok(())
}
