using System.Runtime.InteropServices;

namespace AttnEval.Backends.TorchSharp;

/// <summary>How many threads libtorch computes with, and how they wait. Default: one per physical core this process may
/// use (hyper-threads share a core's vector units, so more threads only contend), and OpenMP workers that sleep when idle
/// (<c>OMP_WAIT_POLICY=PASSIVE</c>): spinning workers collapse when another process shares the cores — the quickstart
/// took 18 minutes instead of 1.5 on a shared 2-core machine.</summary>
internal static class CpuThreads
{
    /// <summary>Physical cores among the CPUs this process may run on (Linux sysfs topology; elsewhere, or when it cannot be
    /// read, <see cref="Environment.ProcessorCount"/>).</summary>
    public static int PhysicalCores()
    {
        int logical = Environment.ProcessorCount;
        try
        {
            var cores = new HashSet<(string, string)>();
            int cpus = 0;
            foreach (var dir in Directory.EnumerateDirectories("/sys/devices/system/cpu", "cpu*"))
            {
                var name = Path.GetFileName(dir);
                if (!int.TryParse(name.AsSpan(3), out _)) continue;
                var core = Path.Combine(dir, "topology", "core_id");
                var package = Path.Combine(dir, "topology", "physical_package_id");
                if (!File.Exists(core)) continue;
                var online = Path.Combine(dir, "online");
                if (File.Exists(online) && File.ReadAllText(online).Trim() == "0") continue;
                cpus++;
                cores.Add((File.Exists(package) ? File.ReadAllText(package).Trim() : "0", File.ReadAllText(core).Trim()));
            }
            if (cpus == 0 || cores.Count == 0) return logical;
            // The process may be limited (affinity, cgroup quota) to fewer CPUs than the machine has: scale by the SMT ratio.
            double threadsPerCore = (double)cpus / cores.Count;
            return Math.Max(1, (int)Math.Floor(Math.Min(cpus, logical) / threadsPerCore));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return logical;
        }
    }

    /// <summary>Makes idle OpenMP workers sleep instead of spin, unless the user set <c>OMP_WAIT_POLICY</c>. Must run before
    /// libtorch's OpenMP runtime starts; the native environment is set (.NET's own copy is not what native code reads).</summary>
    public static void PreferPassiveWaiting()
    {
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is { Length: > 0 }) return;
        Environment.SetEnvironmentVariable("OMP_WAIT_POLICY", "PASSIVE");
        if (!OperatingSystem.IsLinux()) return;
        try { _ = SetEnv("OMP_WAIT_POLICY", "PASSIVE", 0); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    [DllImport("libc.so.6", EntryPoint = "setenv", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int SetEnv(string name, string value, int overwrite);
}
