package cli

// estimateHelp is "carbontrack estimate --help".
const estimateHelp = `Usage: carbontrack estimate (--device NAME | --watts W) [--utilization U] [--count N]
           (--hours H | --days D | --gpu-hours H |
            (--flops F | --params N --tokens D) [--peak-tflops T] [--mfu U]) [--pue P]
           [--intensity G | --zone Z | --region R] [--embodied [--embodied-gpu-kg KG] ...]
           [--offset-price P --currency CUR] [--compare-zones Z1,Z2,...]
           [--candidate 'NAME: KEY=VALUE ...' ...] [--json]
       carbontrack estimate --list-devices [--json]

Estimates the energy and carbon emissions of a training run from its hardware
and duration alone, the way published papers do (Patterson et al. 2021):

  kWh    = hours × devices × W per device × utilization × PUE / 1000
  kgCO2e = kWh × gCO2e/kWh / 1000

and prints the arithmetic step by step with the source of every number.
Energy is printed in kWh (MWh from 1,000 kWh), emissions in kg CO2e (t from
1,000 kg).

Power: --device looks the accelerator up in an embedded table of vendor
figures (--list-devices: V100, A100, H100, H200, B200, L4, T4, A10, TPU v2-v4,
...; spelling is flexible: a100-80gb, "A100 80GB", h100-sxm); --watts gives
the W per device yourself and wins over the table. A TDP is an upper bound:
training averages below it, so --utilization (default 1) scales it (e.g. 0.7).

Duration: --hours (wall clock), --days (24 h each), or --gpu-hours, the total
device-hours papers often report: then hours = gpu-hours / count.

Performance model: instead of a duration, give the work and let the
hardware's throughput give the time. --flops is the total training compute
in FLOPs (e.g. 3.14e23); --params N --tokens D estimate it as 6 × N × D, the
dense-transformer rule (Kaplan et al. 2020: 6 FLOPs per parameter and token,
forward and backward); counts take K, M, B and T (--params 7B --tokens 2T). Then

  device-hours = FLOPs / (peak TFLOPS × 10^12 × MFU × 3600)
  hours        = device-hours / count

with the peak dense BF16/FP16 tensor throughput per device from the table
(vendor datasheets, without sparsity; --list-devices shows it) or
--peak-tflops, and --mfu, the model-FLOPs utilisation, default 0.4:
published large runs sustain roughly 0.3-0.55 of the peak (PaLM 46 %;
Llama 2's GPU-hours imply 0.35-0.43 on A100s). The power model follows.

PUE (facility energy / IT energy): default 1.58, the global average data
centre (Uptime Institute Global Data Center Survey 2023); hyperscale clouds
report about 1.1 (Google 1.10, AWS 1.135, Azure 1.12). --pue 1 counts the
devices alone.

Intensity: --intensity in gCO2e/kWh, or the annual average of a --zone
(country: FR, DEU, Sweden) or --region (gcp:europe-west4, aws:us-east-1,
azure:westeurope) from the embedded tables, as "carbontrack intensity" shows.
Without any, the world average, 483.18 gCO2e/kWh (Our World in Data, 2023),
with a note.

Embodied: --embodied adds the run's share of the hardware's manufacturing
emissions (Luccioni et al. 2022, BLOOM): 150 kgCO2e per GPU and 2,500 kgCO2e
per server (servers = ceil(GPUs / 8)), spread over a 6-year life at 85 %
utilisation, i.e. share = hours / (6 × 8,760 × 0.85). --embodied-gpu-kg,
--embodied-server-kg, --gpus-per-server, --lifetime-years and
--lifetime-utilization change these figures (and imply --embodied).

Comparing zones: --compare-zones FR,DE,US,gcp:europe-north1 prints the same
run in each zone, lowest emissions first, with the saving against the FIRST
zone given. A cleaner grid is the cheapest lever there is.

Model selection: --candidate 'NAME: KEY=VALUE ...', repeated, compares
several configurations side by side, lowest emissions first, with the saving
against the FIRST candidate given. Each candidate starts from the flags given
outside --candidate and overrides them; the keys are those flags' names:
device, count, watts, utilization, hours, days, gpu-hours, flops, params,
tokens, mfu, peak-tflops, zone, region, intensity, pue. Quote a value with
spaces: device="H100 SXM". A duration key replaces the shared duration and
compute, flops the shared duration and params/tokens, params or tokens the
shared duration and flops; zone, region and intensity replace the shared
location; device drops the shared --watts and --peak-tflops.

Offsets: --offset-price P --currency EUR prints what offsetting the total
emissions would cost at P per tonne CO2e, a price you give: none is assumed.
Offsets do not undo emissions; avoiding them (a cleaner zone, fewer runs)
comes first.

Examples:
  carbontrack estimate --watts 1000 --hours 100 --intensity 500 --pue 1
  carbontrack estimate --device h100-sxm --count 8 --days 7 --zone FR --embodied
  carbontrack estimate --device "A100 80GB" --count 64 --gpu-hours 100000 --utilization 0.7 --region gcp:us-central1 --json
  carbontrack estimate --device tpu-v4 --count 256 --days 3 --pue 1.1 --compare-zones US,FR,SE,gcp:europe-north1
  carbontrack estimate --device a100-80gb --count 1024 --params 7B --tokens 2T --mfu 0.4 --zone US
  carbontrack estimate --device h100-sxm --count 64 --flops 1e23 --zone DE --offset-price 80 --currency EUR
  carbontrack estimate --tokens 2e12 --device "A100 80GB" --count 1024 --zone US \
      --candidate '7B: params=7e9' --candidate '13B: params=13e9' --candidate '7B in FR: params=7e9 zone=FR'
  carbontrack estimate --list-devices

Environment: CARBONTRACK_PUE, CARBONTRACK_ZONE and CARBONTRACK_REGION set
--pue, --zone and --region when the flags are not given (a flag given wins).

Flags:
`
