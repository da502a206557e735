package cli

// runHelp is "carbontrack run --help".
const runHelp = `Usage: carbontrack run [flags] [--] COMMAND [ARGS...]

Runs COMMAND (directly, never through a shell) and measures the energy and
carbon emissions of this machine from just before the command starts until
it exits; with --process, only those of the GPUs its process tree uses and
of its share of the CPU and memory, from just after it starts (its devices
are found once its pid is known). Stdin, stdout and stderr pass through
unchanged; SIGTERM is passed on to the command, and so are SIGINT, SIGQUIT
and SIGHUP unless they came from the terminal, which sends them to the
command itself (a third Ctrl-C kills it). carbontrack exits with the
command's exit code, or 128+N when signal N killed it (127: command not
found; 126: not executable; 2: bad flags; 1: cannot measure); a Ctrl-C or
SIGTERM before the command started exits with 130 or 143 without starting
it.

Known limit: a signal does not say who sent it, so carbontrack guesses. When
it is in its terminal's foreground process group (run from an interactive
shell, not in the background), it takes a SIGINT, SIGQUIT or SIGHUP as the
terminal's, which the command got too, and does not pass it on; a
"kill -INT <carbontrack's pid>" from elsewhere then does not reach the
command. Signal the command itself, or use SIGTERM, which is always passed
on.

If carbontrack itself is killed (SIGKILL, the OOM killer), the command gets
SIGTERM on Linux, rather than run on unmeasured; --keep-command leaves it
running. Only the command gets it, not its children: a shell script should
exec the training.

The whole run is one epoch unless the command's output marks its epochs;
--epochs says how many there are, for the projection printed after the
first epoch. Each line the command prints (stdout or stderr) is matched as
a terminal shows it: colours left out, the text after its last carriage
return. With --epoch-pattern REGEX, a matching line ends an epoch and
starts the next. With --epoch-start-pattern REGEX, a matching line starts
an epoch, ending the open one: Keras' "Epoch 1/10" comes when an epoch
begins, and taken for an end it makes the first epoch a moment. With both,
starts and ends are taken as printed. The epoch open when the command exits
is complete if it exited with 0 and a start opened it (or, with ends only,
if it is the last), interrupted otherwise. --epochs-from NAME reads what a
trainer prints, progress-bar redraws included (an epoch number redrawn
counts once):
{{presets}}
--epochs-from excludes the patterns; given on the command line, either wins
over the other's environment variable. When the first epoch lasts under 1 %
of the time from its start to the end of the second, a warning says the
marks look wrong. When carbontrack reads the command's output (epochs, or
the status line) the command writes to pipes, not to the terminal: run
Python with -u (or PYTHONUNBUFFERED=1) so its lines arrive when printed.

On a terminal a status line on stderr shows the elapsed time, the power now
by component, the energy (kWh, PUE included), the emissions and the
projection. It is drawn only when the command's last line is complete and is
erased (\r, ESC[K) before anything else is written, so the command's output
is never mixed with it; carbontrack's own messages wait (up to a second) for
the command to finish its line.

At the end, also after Ctrl-C, SIGTERM or a crash of the command, the report
goes to stderr, the logs are written to --log-dir (carbontracker's log pair,
JSON lines, emissions.csv and the power series; read them with
"carbontrack report"), and --json writes the report as JSON to stdout after
the command's output: its last lines, starting on a line of their own (when
the command wrote to stdout directly, carbontrack cannot see its last byte
and always writes a newline first, so an empty line may come before).
--report-file writes it to a file instead, which is what a program should
read. Its energy_kwh and emissions_g cover the whole command, from start to
exit; its epochs and the logs cover the epochs, as carbontracker counts.
With --metrics-addr and --metrics-linger, the endpoint then keeps serving
the final values, all of the above being written; Ctrl-C or SIGTERM ends
that wait, and carbontrack exits with the command's code.

The emission factor's zone is --zone (or --region); without one it is
located: a cloud metadata service (GCP, AWS, Azure), else the system's time
zone, else the world average with a warning. The report says which. An
unknown zone ends run before the command starts (exit 2). A live --provider
is asked in the background: the command starts at once on the zone's table
value, which stays in use if the provider does not answer.

A device that nothing can read (an Apple GPU, hardware in a VM) can be
declared: --declare KIND=WATTS[@UTIL][,NAME], KIND gpu, cpu or dram, UTIL
the fraction of WATTS drawn on average (0.8 or 80%; default 1), NAME the
rest of the value, commas and colons included. Its energy is WATTS × UTIL ×
the time, exactly, shown with method "declared" in the report and the logs.
It replaces the estimate of its kind (the CPU from load and TDP, RAM from
its size); a measured device of its kind is kept, and the declared one
counted besides it, with a warning. Repeat --declare, or separate devices
with ';', for several.

With --budget or --budget-kwh, a message says when the projection or the
consumption passes the budget; with --enforce-budget the command is then
stopped: SIGTERM, then SIGKILL after --grace-period.

Examples:
  carbontrack run -- python -u train.py --epochs 10
  carbontrack run --epochs 10 --epoch-pattern '^Epoch [0-9]+ done' --zone DK -- python -u train.py
  carbontrack run --epochs 10 --epochs-from keras -- python -u fit.py
  carbontrack run --epochs 5 --epoch-start-pattern '^Epoch [0-9]+/' --epoch-pattern '^val' -- python -u train.py
  carbontrack run --process --json --log-dir runs/exp1 -- ./train.sh > metrics.txt
  carbontrack run --budget 500 --enforce-budget --epochs 50 --epoch-pattern 'val_loss' -- python -u fit.py
  CARBONTRACK_ZONE=FR carbontrack run --quiet --report-file report.json -- make train
  carbontrack run --declare 'gpu=15W@0.8,Apple M2 GPU' -- python -u train.py

Flags:
`
