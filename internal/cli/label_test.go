package cli

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The command line is the run's label in logs and reports that people
// share: its secrets are masked.
func TestRedactedCommand(t *testing.T) {
	for _, c := range []struct {
		argv []string
		want string
	}{
		{[]string{"python", "train.py", "--lr", "3e-4"}, "python train.py --lr 3e-4"},
		{[]string{"python", "train.py", "--api-key=SECRET1", "--hf_token", "SECRET2", "--epochs", "3"},
			"python train.py --api-key=xxxxx --hf_token xxxxx --epochs 3"},
		{[]string{"env", "AWS_SECRET_ACCESS_KEY=SECRET3", "WANDB_API_KEY=SECRET4", "python", "t.py"},
			"env AWS_SECRET_ACCESS_KEY=xxxxx WANDB_API_KEY=xxxxx python t.py"},
		{[]string{"curl", "https://user:SECRET5@example.com/x"}, "curl 'https://user:xxxxx@example.com/x'"},
		{[]string{"t.py", "--password", "--verbose"}, "t.py --password --verbose"},
		// A name that merely contains one of the words keeps its value.
		{[]string{"t.py", "--keyframes", "10", "--max-tokens", "2048", "--tokenizer", "gpt2", "--author", "me"},
			"t.py --keyframes 10 --max-tokens 2048 --tokenizer gpt2 --author me"},
		{[]string{"t.py", "--apikey", "SECRET10", "--db.password=SECRET11", "--credentials", "SECRET12"},
			"t.py --apikey xxxxx --db.password=xxxxx --credentials xxxxx"},
		{[]string{"t.py", "data/tokenizer.json"}, "t.py data/tokenizer.json"},
		{[]string{"sh", "-c", "python train.py --api-key SECRET6 --lr 3e-4"}, "sh -c 'python train.py --api-key xxxxx --lr 3e-4'"},
		{[]string{"sh", "-c", "HF_TOKEN=SECRET7 python train.py"}, "sh -c 'HF_TOKEN=xxxxx python train.py'"},
		{[]string{"curl", "-H", "Authorization: Bearer SECRET8", "https://x"}, "curl -H 'Authorization: xxxxx xxxxx' https://x"},
		{[]string{"curl", "-H", "X-Api-Key: SECRET9", "https://x"}, "curl -H 'X-Api-Key: xxxxx' https://x"},
	} {
		got := redactedCommand(c.argv)
		assert.Equal(t, c.want, got, "%q", c.argv)
		assert.NotRegexp(t, `SECRET\d`, got)
	}
}
