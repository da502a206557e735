package cli

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeEpochs records a counter's calls: "S" for EpochStart, "E" for
// EpochEnd.
type fakeEpochs struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeEpochs) EpochStart() { f.add("S") }
func (f *fakeEpochs) EpochEnd()   { f.add("E") }

func (f *fakeEpochs) add(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

func (f *fakeEpochs) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.calls, " ")
}

// fakeClock is a clock the test moves.
type fakeClock struct{ t time.Time }

func newFakeClock() *fakeClock            { return &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }
func (c *fakeClock) now() time.Time       { return c.t }
func (c *fakeClock) step(d time.Duration) { c.t = c.t.Add(d) }

// messages collects what a counter says.
type messages struct {
	mu   sync.Mutex
	said []string
}

func (m *messages) say(s string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.said = append(m.said, s)
}

func (m *messages) all() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return strings.Join(m.said, "")
}

func TestAppendVisible(t *testing.T) {
	for in, want := range map[string]string{
		"plain text": "plain text",
		"\x1b[1m10/10\x1b[0m \x1b[32m━━━━\x1b[0m\x1b[37m\x1b[0m": "10/10 ━━━━",
		"\x1b[H\x1b[KEpoch 1/10":                   "Epoch 1/10", // Keras, pinned
		"Validation: 50%\x1b[A":                    "Validation: 50%",
		"\b\b\b\b":                                 "",
		"tab\tkept\x00\x07\x7f":                    "tab\tkept",
		"\x1b]0;window title\x07shown":             "shown",
		"\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\": "link",
		"\x1b(Bcharset\x1b=":                       "Bcharset",
		"cut \x1b[":                                "cut ",
		"cut \x1b[1;3":                             "cut ",
		"cut \x1b":                                 "cut ",
		"\x1b[38;5;196mred\x1b[0m":                 "red",
	} {
		assert.Equal(t, want, string(appendVisible(nil, []byte(in))), "%q", in)
	}
}

// update is one call of a lineTee's update.
type update struct {
	text  string
	final bool
}

func TestLineTeeUpdates(t *testing.T) {
	// One write a redraw, as tqdm and Keras write them; then a line
	// without its end.
	writes := []string{"Epoch 0:  10%|█ \x1b[A", "\rEpoch 0:  20%|██", "\rdone\r", "\n\r\x1b[1mbold\x1b[0m\n\n\r", "\rpartial", " at exit"}
	want := []update{
		{"Epoch 0:  10%|█ ", false}, // as drawn
		{"Epoch 0:  10%|█ ", false}, // overwritten
		{"Epoch 0:  20%|██", false},
		{"Epoch 0:  20%|██", false},
		{"done", false}, // "\r": maybe "\r\n"
		{"done", true},
		{"bold", true},
		{"partial", false},
		{"partial at exit", false},
	}
	var got []update
	var out bytes.Buffer
	w := &lineTee{write: out.Write, update: func(text []byte, final bool) {
		got = append(got, update{string(text), final})
	}}
	for _, p := range writes {
		n, err := w.Write([]byte(p))
		require.NoError(t, err)
		assert.Equal(t, len(p), n)
	}
	assert.Equal(t, want, got)
	assert.Equal(t, strings.Join(writes, ""), out.String(), "passed on byte for byte")

	// Cut anywhere, the lines are the same.
	in := strings.Join(writes, "")
	for _, size := range []int{1, 2, 7} {
		var lines []string
		w := &lineTee{write: io.Discard.Write, update: func(text []byte, final bool) {
			if final {
				lines = append(lines, string(text))
			}
		}}
		for i := 0; i < len(in); i += size {
			_, _ = w.Write([]byte(in[i:min(i+size, len(in))]))
		}
		assert.Equal(t, []string{"done", "bold"}, lines, "writes of %d bytes", size)
	}
}

// Real output, a few lines of each trainer, as the command's stdout and
// stderr carry it: ANSI codes, backspaces and carriage returns included.
var (
	// Keras 3, fit(epochs=3, validation_data=...), verbose=1 on Linux
	// (dynamic display: "\b"*width then "\r"), then evaluate().
	kerasOutput = []string{
		"Epoch 1/3\n",
		"\r\x1b[1m 1/32\x1b[0m \x1b[37m━━━━━━━━━━━━━━━━━━━━\x1b[0m \x1b[1m12s\x1b[0m 388ms/step - accuracy: 0.0938 - loss: 2.3208",
		"\b\b\b\b\b\b\b\b\b\b\b\b\r\x1b[1m16/32\x1b[0m \x1b[32m━━━━━━━━━━\x1b[0m\x1b[37m━━━━━━━━━━\x1b[0m \x1b[1m0s\x1b[0m 3ms/step - accuracy: 0.4512 - loss: 1.6001",
		"\b\b\b\b\b\b\b\b\b\b\b\b\r\x1b[1m32/32\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m \x1b[1m1s\x1b[0m 10ms/step - accuracy: 0.6123 - loss: 1.2077 - val_accuracy: 0.8530 - val_loss: 0.5251\n",
		"Epoch 2/3\n",
		"\r\x1b[1m 1/32\x1b[0m \x1b[37m━━━━━━━━━━━━━━━━━━━━\x1b[0m \x1b[1m0s\x1b[0m 9ms/step - accuracy: 0.8750 - loss: 0.4870",
		"\b\b\b\b\b\b\b\b\b\b\b\b\r\x1b[1m32/32\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m \x1b[1m0s\x1b[0m 4ms/step - accuracy: 0.8842 - loss: 0.4111 - val_accuracy: 0.8990 - val_loss: 0.3512\n",
		"Epoch 3/3\n",
		"\r\x1b[1m32/32\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m \x1b[1m0s\x1b[0m 4ms/step - accuracy: 0.9101 - loss: 0.3020 - val_accuracy: 0.9120 - val_loss: 0.2900\n",
		// model.evaluate(): its own bar, after the epochs.
		"\r\x1b[1m313/313\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m \x1b[1m1s\x1b[0m 2ms/step - accuracy: 0.9712 - loss: 0.0954\n",
	}
	// tf.keras 2 (TensorFlow 2.15), verbose=1, and verbose=2 as
	// examples/pytorch/train.py prints it.
	tfKerasOutput = []string{
		"Epoch 1/2\n",
		"\r 1/32 [>.............................] - ETA: 12s - loss: 2.3208 - accuracy: 0.0938",
		"\b\b\b\b\b\r32/32 [==============================] - 1s 10ms/step - loss: 1.2077 - accuracy: 0.6123 - val_loss: 0.5251 - val_accuracy: 0.8530\n",
		"Epoch 2/2\n",
		"32/32 - 0s - 4ms/step - accuracy: 0.8842 - loss: 0.4111\n",
	}
	// PyTorch Lightning 2, TQDMProgressBar on stdout: the sanity check,
	// the train bar redrawn in place ("\r"), the validation bar one line
	// below ("\n", then ESC[A back up), max_epochs=3.
	lightningOutput = []string{
		"Sanity Checking: |          | 0/? [00:00<?, ?it/s]",
		"\rSanity Checking DataLoader 0:  50%|█████     | 1/2 [00:00<00:00, 12.50it/s]",
		"\r                                                                           \r",
		"Training: |          | 0/? [00:00<?, ?it/s]",
		"\rEpoch 0:   0%|          | 0/100 [00:00<?, ?it/s] ",
		"\rEpoch 0:   1%|          | 1/100 [00:00<00:09, 10.20it/s, v_num=0]",
		"\rEpoch 0:  45%|████▌     | 45/100 [00:00<00:00, 58.31it/s, v_num=0]",
		"\rEpoch 0: 100%|██████████| 100/100 [00:01<00:00, 60.12it/s, v_num=0]",
		"\n\rValidation: |          | 0/? [00:00<?, ?it/s]\x1b[A",
		"\n\rValidation DataLoader 0:  50%|█████     | 10/20 [00:00<00:00, 90.00it/s]\x1b[A",
		"\n\r                                                                      \x1b[A",
		"\rEpoch 0: 100%|██████████| 100/100 [00:01<00:00, 55.00it/s, v_num=0, val_loss=0.512]",
		"\rEpoch 1:   0%|          | 0/100 [00:00<?, ?it/s, v_num=0, val_loss=0.512]        ",
		"\rEpoch 1:  50%|█████     | 50/100 [00:00<00:00, 61.00it/s, v_num=0, val_loss=0.512]",
		"\rEpoch 1: 100%|██████████| 100/100 [00:01<00:00, 60.00it/s, v_num=0, val_loss=0.400]",
		"\rEpoch 2:   0%|          | 0/100 [00:00<?, ?it/s, v_num=0, val_loss=0.400]        ",
		"\rEpoch 2: 100%|██████████| 100/100 [00:01<00:00, 60.00it/s, v_num=0, val_loss=0.321]",
	}
	// Lightning's logger, on stderr, before the bar is closed.
	lightningStderr = "`Trainer.fit` stopped: `max_epochs=3` reached.\n"
	// Hugging Face transformers Trainer, num_train_epochs=3,
	// eval_strategy="epoch", logging_steps=50: the tqdm bar on stderr,
	// the logged dicts (tqdm.write) on stdout.
	transformersStderr = []string{
		"  0%|          | 0/375 [00:00<?, ?it/s]",
		"\r 13%|█▎        | 50/375 [00:12<01:20,  4.03it/s]",
		"\r 33%|███▎      | 125/375 [00:31<01:01,  4.05it/s]",
		"\r 67%|██████▋   | 250/375 [01:02<00:30,  4.06it/s]",
		"\r100%|██████████| 375/375 [01:32<00:00,  4.07it/s]\n",
	}
	transformersStdout = []string{
		"{'loss': 0.6931, 'grad_norm': 3.5462, 'learning_rate': 4.8667e-05, 'epoch': 0.4}\n",
		"{'eval_loss': 0.4123, 'eval_accuracy': 0.85, 'eval_runtime': 1.234, 'eval_samples_per_second': 405.2, 'eval_steps_per_second': 51.1, 'epoch': 1.0}\n",
		"{'loss': '0.4012', 'grad_norm': '2.13', 'learning_rate': '3.2e-05', 'epoch': '1.33'}\n", // newer versions quote
		"{'eval_loss': 0.3501, 'eval_accuracy': 0.88, 'eval_runtime': 1.2, 'epoch': 2.0}\n",
		"{'eval_loss': 0.3222, 'eval_accuracy': 0.89, 'eval_runtime': 1.2, 'epoch': 3.0}\n",
		"{'train_runtime': 92.1, 'train_samples_per_second': 32.57, 'train_steps_per_second': 4.07, 'train_loss': 0.45, 'epoch': 3.0}\n",
	}
	// A script's own prints: "Epoch N" at the start, then per-step lines
	// that repeat the number, in colour.
	plainOutput = []string{
		"loading data\n",
		"\x1b[32mEpoch 1/3\x1b[0m\n",
		"epoch 1 step 100/500 loss 0.9\n",
		"Epoch 2/3\n",
		"epoch 2 step 100/500 loss 0.5\n",
		"EPOCH 3/3\n",
		"epochs done: 3\n",
	}
)

// feed writes each chunk to the lineTee of its stream.
type chunk struct {
	stderr bool
	data   string
}

func chunks(stderr bool, data ...string) []chunk {
	c := make([]chunk, len(data))
	for i, d := range data {
		c[i] = chunk{stderr, d}
	}
	return c
}

func TestEpochPresets(t *testing.T) {
	for _, tc := range []struct {
		name, preset string
		total        int
		in           []chunk
		success      bool
		want         string // the tracker's calls
		said         string // what the counter said, if anything
	}{
		{name: "keras 3", preset: "keras", total: 3, in: chunks(false, kerasOutput...), success: true,
			want: "S E S E S E"},
		{name: "keras 3, fewer epochs than it says", preset: "keras", total: 2, in: chunks(false, kerasOutput...), success: true,
			want: "S E S E", said: "the command announced 3 epochs, but --epochs is 2"},
		{name: "keras 3 crashing in epoch 2", preset: "keras", total: 3, in: chunks(false, kerasOutput[:6]...),
			want: "S E S"},
		{name: "tf.keras 2 and verbose=2", preset: "keras", total: 2, in: chunks(false, tfKerasOutput...), success: true,
			want: "S E S E"},
		{name: "lightning", preset: "lightning", total: 3,
			in: append(append(chunks(false, lightningOutput...), chunk{true, lightningStderr}), chunk{false, "\n"}), success: true,
			want: "S E S E S E"},
		{name: "lightning killed in epoch 2", preset: "lightning", total: 3, in: chunks(false, lightningOutput[:15]...),
			want: "S E S"},
		{name: "lightning, exit 0 without the fit loop's line", preset: "lightning", total: 3, in: chunks(false, lightningOutput...), success: true,
			want: "S E S E S E"},
		{name: "transformers", preset: "transformers", total: 3,
			in: append(chunks(true, transformersStderr[:2]...), append(chunks(false, transformersStdout...), chunks(true, transformersStderr[2:]...)...)...), success: true,
			want: "S E S E S E"},
		{name: "transformers, total announced", preset: "transformers", total: 2,
			in:      chunks(true, "***** Running training *****\n", "  Num examples = 1,000\n", "  Num Epochs = 3\n", "{'loss': 0.3, 'epoch': 1.0}\n"),
			success: true, want: "S E S E", said: "the command announced 3 epochs, but --epochs is 2"},
		{name: "plain", preset: "plain", total: 3, in: chunks(false, plainOutput...), success: true,
			want: "S E S E S E"},
		{name: "plain, the whole epoch redrawn with \\r", preset: "plain", total: 2,
			in: chunks(true, "Epoch 1/2 10%\rEpoch 1/2 90%\rEpoch 1/2 100%\n", "Epoch 2/2 10%\r", "Epoch 2/2 100%\n"), success: true,
			want: "S E S E"},
		{name: "nothing matched", preset: "plain", total: 3, in: chunks(false, "training\n", "done\n"), success: true,
			want: "", said: "no line of the command's output marked an epoch (--epochs-from plain): if it is a Python program, run it with -u"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := presetMatcher(tc.preset)
			require.NoError(t, err)
			var msgs messages
			// A clock a millisecond on at each reading: on the wall clock,
			// a loaded machine made the first epoch look short.
			at := time.Unix(1_700_000_000, 0)
			tick := func() time.Time { at = at.Add(time.Millisecond); return at }
			ep := newEpochCounter(tc.total, m, msgs.say, tick)
			fake := &fakeEpochs{}
			ep.begin(fake)
			out := &lineTee{write: func(p []byte) (int, error) { return len(p), nil }, update: ep.lineFunc()}
			errw := &lineTee{write: func(p []byte) (int, error) { return len(p), nil }, update: ep.lineFunc()}
			for _, c := range tc.in {
				w := out
				if c.stderr {
					w = errw
				}
				_, _ = w.Write([]byte(c.data))
			}
			ep.finish(tc.success)
			assert.Equal(t, tc.want, fake.String())
			if tc.said == "" {
				assert.Empty(t, msgs.all())
			} else {
				assert.Contains(t, msgs.all(), tc.said)
				assert.Equal(t, 1, len(msgs.said), "said once: %q", msgs.said)
			}
		})
	}
}

// Each preset's mark function on single lines, as lineTee hands them over.
func TestEpochPresetMarks(t *testing.T) {
	start := func(n int) epochMark { return epochMark{start: true, epoch: n, numbered: true} }
	for _, tc := range []struct {
		preset, text string
		final        bool
		want         epochMark
	}{
		{"keras", "Epoch 1/10", true, epochMark{start: true, epoch: 1, numbered: true, total: 10}},
		{"keras", "Epoch 1/10", false, epochMark{}},
		{"keras", "Epoch 12/10 extra", true, epochMark{}},
		{"keras", "32/32 ━━━━━━━━━━━━━━━━━━━━ 1s 10ms/step - loss: 1.2077", true, epochMark{end: true}},
		{"keras", "16/32 ━━━━━━━━━━━━━━━━━━━━ 0s 3ms/step - loss: 1.6001", true, epochMark{}},
		{"keras", "   37/Unknown  5s 10ms/step - loss: 0.3", true, epochMark{}},
		{"keras", "10/10 [==============================] - 1s 10ms/step - loss: 0.3", true, epochMark{end: true}},
		{"keras", "10/10 - 1s - 10ms/step - loss: 0.3", true, epochMark{end: true}},
		{"keras", "32/32 ━━━ 1s", false, epochMark{}},
		{"keras", "10/10 files copied", true, epochMark{}},
		{"lightning", "Epoch 0:   0%|          | 0/100 [00:00<?, ?it/s]", false, start(0)},
		{"lightning", "Epoch 12: |          | 45/? [00:01<?, 30.00it/s, v_num=0]", false, start(12)},
		{"lightning", "Epoch 3/9  ━━━━━━━━━━━━━━━━ 10/10 0:00:01 • 0:00:00 9.50it/s v_num: 0", false, start(3)},
		{"lightning", "Epoch 3 of the plan", true, epochMark{}},
		{"lightning", "INFO: `Trainer.fit` stopped: `max_epochs=3` reached.", true, epochMark{end: true}},
		{"lightning", "INFO:lightning.pytorch.utilities.rank_zero:`Trainer.fit` stopped: `max_steps=1000` reached.", true, epochMark{end: true}},
		{"lightning", "Validation DataLoader 0:  50%|█████     | 10/20", false, epochMark{}},
		{"transformers", "{'loss': 0.6931, 'learning_rate': 4.8667e-05, 'epoch': 0.4}", true, epochMark{end: true, epoch: 0, numbered: true}},
		{"transformers", "{'eval_loss': 0.41, 'epoch': 1.0}", true, epochMark{end: true, epoch: 1, numbered: true}},
		{"transformers", "{'loss': '4.901', 'epoch': '3'}", true, epochMark{end: true, epoch: 3, numbered: true}},
		{"transformers", `{"loss": 0.5, "epoch": 2.0}`, true, epochMark{end: true, epoch: 2, numbered: true}},
		{"transformers", "{'train_runtime': 85.4591, 'train_loss': 0.5028, 'epoch': 1196.44}", true, epochMark{end: true, epoch: 1196, numbered: true}},
		{"transformers", "{'loss': 0.1, 'epoch': 0.9999999999}", true, epochMark{end: true, epoch: 1, numbered: true}},
		{"transformers", "INFO:transformers.trainer:  Num Epochs = 1,000", true, epochMark{total: 1000}},
		{"transformers", "epoch 1 done", true, epochMark{}},
		{"transformers", "{'epoch': 1e999}", true, epochMark{}},
		{"plain", "epoch 1", true, start(1)},
		{"plain", "Epoch 3/10: loss 0.5", true, epochMark{start: true, epoch: 3, numbered: true, total: 10}},
		{"plain", "  [EPOCH 3 of 5] lr=0.1", false, epochMark{start: true, epoch: 3, numbered: true, total: 5}},
		{"plain", "epoch: 7", true, start(7)},
		{"plain", "Epoch 0", true, start(0)},
		{"plain", "epochs 3", true, epochMark{}},
		{"plain", "train epoch 3", true, epochMark{}},
		{"plain", "epoch 99999999999", true, epochMark{}},
		{"plain", "epoch 1", false, epochMark{}}, // "epoch 12" cut by a write
		{"plain", "Epoch 1/1", false, epochMark{}},
		{"plain", "Epoch 1/10 ", false, epochMark{start: true, epoch: 1, numbered: true, total: 10}},
		{"transformers", "  Num Epochs = 1", false, epochMark{}}, // "1,000" cut
	} {
		m, err := presetMatcher(tc.preset)
		require.NoError(t, err)
		assert.Equal(t, tc.want, m.mark([]byte(tc.text), tc.final), "%s: %q final=%v", tc.preset, tc.text, tc.final)
	}
}

func TestPresetMatcher(t *testing.T) {
	m, err := presetMatcher("Keras")
	require.NoError(t, err)
	assert.Equal(t, "--epochs-from keras", m.what)
	_, err = presetMatcher("tensorflow")
	require.EqualError(t, err, `unknown preset "tensorflow" (valid: keras, lightning, transformers, plain)`)
	help := presetHelp()
	for _, p := range epochPresets() {
		assert.Contains(t, help, "  "+p.name+" ")
	}
	for _, line := range strings.Split(strings.TrimSuffix(help, "\n"), "\n") {
		assert.LessOrEqual(t, len([]rune(line)), 76, line)
	}
}

func TestPatternMatcher(t *testing.T) {
	assert.Nil(t, patternMatcher(nil, nil))
	end := regexp.MustCompile(`done`)
	start := regexp.MustCompile(`^Epoch`)
	m := patternMatcher(nil, end)
	assert.True(t, m.endsOnly)
	assert.Equal(t, "--epoch-pattern", m.what)
	assert.Equal(t, epochMark{end: true}, m.mark([]byte("epoch done"), true))
	assert.Equal(t, epochMark{}, m.mark([]byte("epoch done"), false), "a redraw is not a line")
	m = patternMatcher(start, end)
	assert.False(t, m.endsOnly)
	assert.Equal(t, "--epoch-start-pattern and --epoch-pattern", m.what)
	assert.Equal(t, epochMark{start: true, end: true}, m.mark([]byte("Epoch 1 done"), true))
}

// mk is a mark for the counter's tests: "s" a start, "e" an end, "s3" a
// start numbered 3, "e2" an end numbered 2.
func mk(s string) epochMark {
	var m epochMark
	switch s[0] {
	case 's':
		m.start = true
	case 'e':
		m.end = true
	case 'b':
		m.start, m.end = true, true
	}
	if len(s) > 1 {
		_, _ = fmt.Sscan(s[1:], &m.epoch)
		m.numbered = true
	}
	return m
}

func TestEpochCounter(t *testing.T) {
	ends := &epochMatcher{what: "ends", endsOnly: true}
	starts := &epochMatcher{what: "starts"}
	for _, tc := range []struct {
		name    string
		m       *epochMatcher
		total   int
		early   []string // marks before begin
		marks   []string
		success bool
		want    string
	}{
		{"no matcher: one epoch", nil, 1, nil, nil, true, "S E"},
		{"no matcher, failed", nil, 1, nil, nil, false, "S"},
		{"ends", ends, 3, nil, []string{"e", "e", "e"}, true, "S E S E S E"},
		{"ends, more than planned", ends, 2, nil, []string{"e", "e", "e", "e"}, true, "S E S E"},
		{"ends, the last left to the exit", ends, 3, nil, []string{"e", "e"}, true, "S E S E S E"},
		{"ends, the last two left: interrupted", ends, 3, nil, []string{"e"}, true, "S E S"},
		{"ends, failed", ends, 3, nil, []string{"e", "e"}, false, "S E S E S"},
		{"ends before the tracker started", ends, 3, []string{"e"}, []string{"e"}, true, "S E S E S E"},
		{"numbered ends count once, and jumps", ends, 4, nil, []string{"e0", "e1", "e1", "e3", "e2", "e4"}, true, "S E S E S E S E"},
		{"starts", starts, 3, nil, []string{"s", "s", "s"}, true, "S E S E S E"},
		{"starts, failed in the last", starts, 3, nil, []string{"s", "s", "s"}, false, "S E S E S"},
		{"starts, stopped early", starts, 5, nil, []string{"s", "s"}, true, "S E S E"},
		{"starts, more than planned", starts, 2, nil, []string{"s", "s", "s"}, true, "S E S E"},
		{"starts before the tracker started", starts, 3, []string{"s0", "s0", "s1"}, []string{"s1", "s2"}, true, "S E S E S E"},
		{"numbered starts: redraws count once", starts, 3, nil, []string{"s0", "s0", "s0", "s1", "s1", "s2", "s2"}, true, "S E S E S E"},
		{"starts and ends", starts, 3, nil, []string{"s", "e", "e", "s", "s", "e", "s"}, true, "S E S E S E"},
		{"a line that ends one and starts the next", starts, 2, nil, []string{"s", "b", "e"}, true, "S E S E"},
		{"ends without a start: nothing", starts, 2, nil, []string{"e", "e"}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ep := newEpochCounter(tc.total, tc.m, nil, nil)
			fake := &fakeEpochs{}
			for _, s := range tc.early {
				ep.mu.Lock()
				ep.markLocked(mk(s))
				ep.unlockAndSay()
			}
			assert.Empty(t, fake.String(), "nothing before begin")
			ep.begin(fake)
			for _, s := range tc.marks {
				ep.mu.Lock()
				ep.markLocked(mk(s))
				ep.unlockAndSay()
			}
			ep.finish(tc.success)
			ep.finish(tc.success) // idempotent enough: nothing open is ended twice
			assert.Equal(t, tc.want, fake.String())
		})
	}
}

// The first epoch is checked when the second ends (or the command exits
// before): under 1 % of the time since it began is a warning, once.
func TestEpochCounterShortFirstEpoch(t *testing.T) {
	ends := &epochMatcher{what: "--epoch-pattern", endsOnly: true}
	starts := &epochMatcher{what: "--epoch-start-pattern"}
	type step struct {
		after time.Duration
		mark  string // "" for the exit
	}
	for _, tc := range []struct {
		name  string
		m     *epochMatcher
		total int
		steps []step
		warn  string
	}{
		{"a start mark taken for an end", ends, 3, []step{{10 * time.Millisecond, "e"}, {2 * time.Second, "e"}, {2 * time.Second, "e"}},
			"the first epoch lasted 10ms, under 1 % of the 2.01s since it began (--epoch-pattern): " +
				"the line that ends an epoch may be printed when one begins"},
		{"one epoch, its start mark taken for its end", ends, 1, []step{{10 * time.Millisecond, "e"}, {6 * time.Second, ""}},
			"the first epoch lasted 10ms, under 1 % of the 6.01s since it began"},
		{"right", ends, 3, []step{{2 * time.Second, "e"}, {2 * time.Second, "e"}, {50 * time.Millisecond, "e"}}, ""},
		{"a start mark taken for an end, after 2 s of imports", ends, 3, []step{{2 * time.Second, "e"}, {10 * time.Minute, "e"}},
			"the first epoch lasted 2s, under 1 % of the 10m2s since it began"},
		{"a long wait before the first start", starts, 2, []step{{time.Hour, "s"}, {time.Second, "s"}, {time.Second, ""}}, ""},
		{"an end right after each start", starts, 3,
			[]step{{time.Second, "s"}, {time.Millisecond, "e"}, {time.Second, "s"}, {time.Millisecond, "e"}},
			"the first epoch lasted 1ms, under 1 % of the 1s since it began (--epoch-start-pattern): " +
				"an epoch may have been ended by a line printed just after it began"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newFakeClock()
			var msgs messages
			ep := newEpochCounter(tc.total, tc.m, msgs.say, clk.now)
			ep.begin(&fakeEpochs{})
			exited := false
			for _, s := range tc.steps {
				clk.step(s.after)
				if s.mark == "" {
					ep.finish(true)
					exited = true
					continue
				}
				ep.mu.Lock()
				ep.markLocked(mk(s.mark))
				ep.unlockAndSay()
			}
			if !exited {
				clk.step(time.Hour)
				ep.finish(true)
			}
			if tc.warn == "" {
				assert.Empty(t, msgs.all())
				return
			}
			assert.Contains(t, msgs.all(), "carbontrack: warning: "+tc.warn)
			assert.Equal(t, 1, strings.Count(msgs.all(), "warning"), "once")
		})
	}
}

// The counter is fed by stdout's and stderr's copiers at once.
func TestEpochCounterConcurrent(t *testing.T) {
	m, err := presetMatcher("lightning")
	require.NoError(t, err)
	ep := newEpochCounter(50, m, nil, nil)
	fake := &fakeEpochs{}
	ep.begin(fake)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			w := &lineTee{write: func(p []byte) (int, error) { return len(p), nil }, update: ep.lineFunc()}
			for e := range 50 {
				for pct := 0; pct <= 100; pct += 25 {
					_, _ = fmt.Fprintf(w, "\rEpoch %d: %3d%%|", e, pct)
				}
			}
			_, _ = w.Write([]byte("\n"))
		})
	}
	wg.Wait()
	ep.finish(true)
	calls := strings.Fields(fake.String())
	starts, endsN := 0, 0
	for i, c := range calls {
		if c == "S" {
			starts++
		} else {
			endsN++
		}
		assert.Equal(t, []string{"S", "E"}[i%2], c, "alternating")
	}
	assert.LessOrEqual(t, starts, 50)
	assert.Equal(t, starts, endsN)
}

// FuzzLineTee feeds any output, cut anywhere, to each preset: the output
// passes through unchanged, the updates hold no control bytes, and the
// tracker's calls alternate, starting with a start, at most total starts.
func FuzzLineTee(f *testing.F) {
	for _, out := range [][]string{kerasOutput, tfKerasOutput, lightningOutput, transformersStdout, transformersStderr, plainOutput} {
		f.Add(strings.Join(out, ""), uint8(7))
	}
	f.Add("\r\n\r\r\x1b[\x1b]\x1b", uint8(1))
	f.Fuzz(func(t *testing.T, in string, cut uint8) {
		size := int(cut)%64 + 1
		for _, p := range epochPresets() {
			m, err := presetMatcher(p.name)
			require.NoError(t, err)
			const total = 4
			ep := newEpochCounter(total, m, func(string) {}, nil)
			fake := &fakeEpochs{}
			ep.begin(fake)
			var out bytes.Buffer
			update := ep.lineFunc()
			w := &lineTee{write: out.Write, update: func(text []byte, final bool) {
				for _, b := range text {
					if b < 0x20 && b != '\t' || b == 0x7f {
						t.Fatalf("control byte %#x in %q", b, text)
					}
				}
				update(text, final)
			}}
			for i := 0; i < len(in); i += size {
				_, _ = w.Write([]byte(in[i:min(i+size, len(in))]))
			}
			ep.finish(true)
			require.Equal(t, in, out.String())
			calls := strings.Fields(fake.String())
			starts := 0
			for i, c := range calls {
				require.Equal(t, []string{"S", "E"}[i%2], c, "%s: %v", p.name, calls)
				if c == "S" {
					starts++
				}
			}
			require.LessOrEqual(t, starts, total)
		}
	})
}

// BenchmarkLineTeeLightning is the cost of a progress bar's redraw read
// for epochs: what every write of a chatty trainer pays.
func BenchmarkLineTeeLightning(b *testing.B) {
	m, err := presetMatcher("lightning")
	require.NoError(b, err)
	ep := newEpochCounter(1<<20, m, nil, nil)
	ep.begin(&fakeEpochs{})
	w := &lineTee{write: func(p []byte) (int, error) { return len(p), nil }, update: ep.lineFunc()}
	redraw := []byte("\rEpoch 7:  45%|████▌     | 45/100 [00:00<00:00, 58.31it/s, v_num=0, loss=0.231]")
	b.ReportAllocs()
	b.SetBytes(int64(len(redraw)))
	for b.Loop() {
		_, _ = w.Write(redraw)
	}
}
