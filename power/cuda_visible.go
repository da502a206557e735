//go:build linux && cgo

package power

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

type selectedGPU struct {
	dev  nvml.Device
	name string
	note string
}

// selectGPUs returns the GPUs CUDA would see. visible is CUDA_VISIBLE_DEVICES
// (nil when unset): comma-separated indices, GPU UUIDs ("GPU-..."; a unique
// prefix is enough, as in CUDA) or MIG UUIDs ("MIG-..."). A MIG instance maps
// to its parent GPU, whose energy covers all its instances: NVML has no energy
// or power per MIG instance. As CUDA does, selection stops at the first entry
// that matches no device.
func selectGPUs(lib nvmlLib, visible *string) ([]selectedGPU, []Unavailable) {
	count, ret := lib.DeviceGetCount()
	if err := nvmlErr(ret, "DeviceGetCount"); err != nil {
		return nil, []Unavailable{{Name: "nvml", Err: err}}
	}
	var unavail []Unavailable
	all := make([]nvml.Device, 0, count)
	uuids := make([]string, 0, count)
	for i := 0; i < count; i++ {
		d, ret := lib.DeviceGetHandleByIndex(i)
		if err := nvmlErr(ret, "DeviceGetHandleByIndex("+strconv.Itoa(i)+")"); err != nil {
			unavail = append(unavail, Unavailable{Name: "gpu:" + strconv.Itoa(i), Err: err})
			all, uuids = append(all, nil), append(uuids, "")
			continue
		}
		u, _ := d.GetUUID()
		all, uuids = append(all, d), append(uuids, u)
	}
	if visible == nil {
		var out []selectedGPU
		for i, d := range all {
			if d != nil {
				out = append(out, selectedGPU{dev: d, name: "gpu:" + strconv.Itoa(i)})
			}
		}
		return out, unavail
	}
	v := strings.TrimSpace(*visible)
	if v == "" {
		return nil, append(unavail, Unavailable{Name: "nvml", Err: errorf(ErrNotFound, "power: nvml: CUDA_VISIBLE_DEVICES is set and empty, so no GPU is visible")})
	}
	var out []selectedGPU
	seen := map[int]bool{}
	for _, entry := range strings.Split(v, ",") {
		entry = strings.TrimSpace(entry)
		idx, note, err := resolveVisible(lib, entry, uuids)
		if err != nil {
			unavail = append(unavail, Unavailable{Name: "CUDA_VISIBLE_DEVICES=" + entry,
				Err: fmt.Errorf("power: nvml: CUDA_VISIBLE_DEVICES entry %q: %w; as CUDA does, the entries after it are ignored", entry, err)})
			break
		}
		if seen[idx] {
			continue
		}
		seen[idx] = true
		if all[idx] == nil {
			continue
		}
		out = append(out, selectedGPU{dev: all[idx], name: "gpu:" + strconv.Itoa(idx), note: note})
	}
	return out, unavail
}

// cudaOrderNote warns when CUDA_VISIBLE_DEVICES selects by index on a
// machine whose GPUs differ: the indices here are NVML's, in PCI bus order,
// while CUDA numbers the fastest GPU first unless CUDA_DEVICE_ORDER is
// PCI_BUS_ID, so index 0 may not be the GPU the training uses.
func cudaOrderNote(lib nvmlLib, visible *string, order string) string {
	if visible == nil || order == "PCI_BUS_ID" {
		return ""
	}
	byIndex := false
	for _, e := range strings.Split(*visible, ",") {
		if _, err := strconv.Atoi(strings.TrimSpace(e)); err == nil {
			byIndex = true
		}
	}
	if !byIndex {
		return ""
	}
	count, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return ""
	}
	names := map[string]bool{}
	for i := 0; i < count; i++ {
		if d, ret := lib.DeviceGetHandleByIndex(i); ret == nvml.SUCCESS {
			if n, ret := d.GetName(); ret == nvml.SUCCESS {
				names[n] = true
			}
		}
	}
	if len(names) < 2 {
		return ""
	}
	return "CUDA_VISIBLE_DEVICES selects by index in PCI bus order here, but CUDA numbers the fastest GPU first unless CUDA_DEVICE_ORDER=PCI_BUS_ID, and this machine's GPUs differ: set CUDA_DEVICE_ORDER=PCI_BUS_ID or select by UUID"
}

func resolveVisible(lib nvmlLib, entry string, uuids []string) (int, string, error) {
	if n, err := strconv.Atoi(entry); err == nil {
		if n < 0 || n >= len(uuids) {
			return 0, "", errorf(ErrNotFound, "no GPU with index %d (%d present)", n, len(uuids))
		}
		return n, "", nil
	}
	if strings.HasPrefix(entry, "MIG-") {
		mig, ret := lib.DeviceGetHandleByUUID(entry)
		if err := nvmlErr(ret, "DeviceGetHandleByUUID"); err != nil {
			return 0, "", err
		}
		parent, ret := mig.GetDeviceHandleFromMigDeviceHandle()
		if err := nvmlErr(ret, "GetDeviceHandleFromMigDeviceHandle"); err != nil {
			return 0, "", err
		}
		pu, ret := parent.GetUUID()
		if err := nvmlErr(ret, "GetUUID"); err != nil {
			return 0, "", err
		}
		for i, u := range uuids {
			if u == pu {
				return i, "MIG instance " + entry + " measured as its parent GPU (NVML has no per-instance energy; the figure covers every instance on the GPU)", nil
			}
		}
		return 0, "", errorf(ErrNotFound, "parent GPU %s not found", pu)
	}
	match := -1
	for i, u := range uuids {
		if u != "" && strings.HasPrefix(u, entry) {
			if match >= 0 {
				return 0, "", errorf(ErrNotFound, "UUID prefix matches several GPUs")
			}
			match = i
		}
	}
	if match < 0 {
		return 0, "", errorf(ErrNotFound, "no GPU with this index or UUID")
	}
	return match, "", nil
}
