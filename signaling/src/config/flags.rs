//! One command-line flag per configuration key, made from the key list: `--http`,
//! `--turn-urls`, `--limits-sites-per-node`, with the key's doc comment as its help. A
//! yes/no key's flag takes no value (`--behind-proxy`). The binary adds these to its own
//! flags and hands the ones given to [`super::Layers`].

use clap::{Arg, ArgAction, ArgMatches};

use super::keys;

/// The flags, for `clap::Command::args`.
pub fn args() -> Vec<Arg> {
    keys::all()
        .iter()
        .map(|k| {
            let help = k.doc.split("\n\n").next().unwrap_or_default();
            let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
            let arg = Arg::new(k.path.as_str())
                .long(&k.flag[2..])
                .help(help)
                .help_heading("Configuration (also DIEMCAU_<KEY> and the --config file)");
            if k.switch {
                arg.action(ArgAction::SetTrue)
            } else {
                arg.action(ArgAction::Set).value_name("VALUE")
            }
        })
        .collect()
}

/// The key flags given, as (key path, value, flag) for [`super::Layers::flags`].
pub fn given(matches: &ArgMatches) -> Vec<(String, String, String)> {
    keys::all()
        .iter()
        .filter_map(|k| {
            let value = if k.switch {
                matches.get_flag(&k.path).then(|| "true".to_owned())
            } else {
                matches.get_one::<String>(&k.path).cloned()
            }?;
            Some((k.path.clone(), value, k.flag.clone()))
        })
        .collect()
}
