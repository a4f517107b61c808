using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using AttnEval.Backends.TorchSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace AttnEval.Samples.LabModel;

/// <summary>Task weights of a training phase (normalised when drawn).</summary>
internal sealed record Mix(double Arithmetic, double Lookup, double Search, double Refusal, double Repeat)
{
    public double this[LabTask t] => t switch
    {
        LabTask.Arithmetic => Arithmetic, LabTask.Lookup => Lookup, LabTask.Search => Search, LabTask.Refusal => Refusal, _ => Repeat,
    };
}

/// <summary>One phase of the schedule.</summary>
/// <param name="Name">Label printed in the log.</param>
/// <param name="Steps">Optimizer steps.</param>
/// <param name="Rows">Rows per batch.</param>
/// <param name="Length">Tokens per row.</param>
/// <param name="Mix">Task weights.</param>
/// <param name="MinRecords">Fewest lookup records.</param>
/// <param name="MaxRecords">Most lookup records.</param>
/// <param name="MaxExtraQueries">Most extra lookup questions per sample (drawn uniformly from 0..this).</param>
/// <param name="RepeatMaxLength">Longest random sequence of the repeat task.</param>
/// <param name="Lr">Peak learning rate.</param>
/// <param name="DecayTo">Fraction of <paramref name="Lr"/> reached at the end of the phase by cosine decay (1 = constant).</param>
internal sealed record Phase(string Name, int Steps, int Rows, int Length, Mix Mix, int MinRecords, int MaxRecords, int MaxExtraQueries,
    int RepeatMaxLength, double Lr, double DecayTo = 1.0);

/// <summary>Shape of the model and optimiser settings.</summary>
internal sealed record TrainSettings(int Hidden, int Intermediate, int Layers, int Heads, int KvHeads, int Context, long Seed,
    int WarmupSteps = 100, double WeightDecay = 0.01, double Beta2 = 0.95, double ClipNorm = 1.0, int LogEvery = 50, int Threads = 2);

/// <summary>
/// The training loop: AdamW on the backend's <see cref="LlamaForCausalLM"/>, packed batches made by a producer
/// thread (one seeded generator, so the data do not depend on timing), loss on answer tokens, per-task loss and
/// accuracy printed every <see cref="TrainSettings.LogEvery"/> steps.
/// </summary>
internal sealed class Trainer(LabVocabulary vocab, Packer packer, TrainSettings settings, TextWriter log)
{
    private static readonly LabTask[] AllTasks = [LabTask.Arithmetic, LabTask.Lookup, LabTask.Search, LabTask.Refusal, LabTask.Repeat];

    /// <summary>First step at which the smoothed lookup value accuracy passed 0.5 (the plateau exit), or null.</summary>
    public int? LookupPlateauExit { get; private set; }
    /// <summary>First step at which the smoothed repeat-task accuracy passed 0.5, or null.</summary>
    public int? RepeatPlateauExit { get; private set; }
    public int StepsDone { get; private set; }
    public long TokensSeen { get; private set; }
    public TimeSpan Elapsed { get; private set; }
    /// <summary>Smoothed statistics at the last log line, per task: loss, accuracy of trained tokens, accuracy of value tokens.</summary>
    public Dictionary<LabTask, (double Loss, double Acc, double ValueAcc)> Last { get; } = [];
    public List<string> History { get; } = [];
    /// <summary>Optimizer steps run with 1 and with 2 libtorch threads.</summary>
    public int[] StepsByThreads { get; } = new int[3];

    public LlamaConfig Config => new(vocab.Count, settings.Hidden, settings.Intermediate, settings.Layers, settings.Heads, settings.KvHeads)
    {
        MaxPositionEmbeddings = settings.Context,
        RmsNormEps = 1e-5,
        RopeTheta = 10000,
        BosTokenId = LabVocabulary.BosId,
        EosTokenIds = [LabVocabulary.EosId],
    };

    public LlamaForCausalLM CreateModel()
    {
        var m = new LlamaForCausalLM(Config);
        m.InitializeWeights(0.02, settings.Seed);
        return m;
    }

    /// <summary>Runs the phases in order on <paramref name="model"/>; <paramref name="checkpoint"/> is called every
    /// <paramref name="checkpointEvery"/> steps and at the end of each phase.</summary>
    public void Train(LlamaForCausalLM model, IReadOnlyList<Phase> phases, Action<int>? checkpoint = null, int checkpointEvery = 1000)
    {
        // Threads: a fixed count, or (Threads = 0) a choice between 1 and 2 re-made every 250 steps by timing 8 steps with
        // each; on a shared machine, two OpenMP threads that wait for each other at every operator can be slower than one.
        bool autoThreads = settings.Threads <= 0;
        int threads = autoThreads ? 1 : settings.Threads;
        set_num_threads(threads);
        var trial = new double[3];
        int trialStep = -1;
        var parameters = model.parameters().ToList();
        var optimizer = optim.AdamW(parameters, phases[0].Lr, 0.9, settings.Beta2, 1e-8, settings.WeightDecay);
        int totalSteps = phases.Sum(p => p.Steps);
        var pool = RepeatPool();
        var queue = new BlockingCollection<(PackedBatch Batch, int PhaseIndex)>(boundedCapacity: 6);
        using var cts = new CancellationTokenSource();
        var producer = Task.Run(() =>
        {
            var rng = new Random((int)(settings.Seed * 7919 + 17));
            try
            {
                for (int pi = 0; pi < phases.Count; pi++)
                {
                    var ph = phases[pi];
                    for (int s = 0; s < ph.Steps; s++)
                        queue.Add((packer.Pack(ph.Rows, ph.Length, () => packer.Encode(Draw(rng, ph, pool))), pi), cts.Token);
                }
            }
            catch (OperationCanceledException) { }
            finally { queue.CompleteAdding(); }
        });

        var sw = Stopwatch.StartNew();
        var ema = new double[Packer.BucketCount, 2];
        bool emaInit = false;
        int step = 0;
        double winLoss = 0; int winSteps = 0; long winTokens = 0; var winWatch = Stopwatch.StartNew();
        model.train();
        try
        {
            foreach (var (batch, pi) in queue.GetConsumingEnumerable())
            {
                var ph = phases[pi];
                int phaseStart = phases.Take(pi).Sum(p => p.Steps);
                double lr = LearningRate(ph, step - phaseStart, step);
                foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;

                if (autoThreads && step > 0 && step % 250 == 0) { trialStep = 0; trial[1] = trial[2] = 0; }
                if (trialStep is 0 or 8) set_num_threads(trialStep == 0 ? 1 : 2);
                int usedThreads = trialStep switch { >= 0 and < 8 => 1, >= 8 => 2, _ => threads };
                long stepStart = Stopwatch.GetTimestamp();

                using var scope = NewDisposeScope();
                var ids = tensor(batch.Ids, [batch.Rows, batch.Length]);
                var pos = tensor(batch.Positions, [batch.Rows, batch.Length]);
                var seg = tensor(batch.Segments, [batch.Rows, batch.Length]);
                var mask = seg.unsqueeze(2).eq(seg.unsqueeze(1)).unsqueeze(1);                   // [B, 1, T, T] block-diagonal
                var logits = model.Forward(ids, pos, mask);                                         // [B, T, V]
                var flat = logits.view(-1, logits.shape[2]);
                var targets = tensor(batch.Targets);
                var lossTok = nn.functional.cross_entropy(flat, targets, ignore_index: -100, reduction: nn.Reduction.None);
                var loss = lossTok.sum() / Math.Max(1, batch.TrainedTokens);
                optimizer.zero_grad();
                loss.backward();
                nn.utils.clip_grad_norm_(parameters, settings.ClipNorm);
                optimizer.step();

                // statistics per bucket
                var buckets = tensor(batch.Buckets);
                var lossSum = zeros(Packer.BucketCount).index_add(0, buckets, lossTok.detach(), 1);
                var correct = flat.detach().argmax(1).eq(targets).to(ScalarType.Float32);
                var accSum = zeros(Packer.BucketCount).index_add(0, buckets, correct, 1);
                var ls = lossSum.data<float>().ToArray();
                var acs = accSum.data<float>().ToArray();
                var counts = new int[Packer.BucketCount];
                foreach (var b in batch.Buckets) counts[b]++;
                for (int k = 0; k < Packer.BucketCount; k++)
                {
                    if (counts[k] == 0) continue;
                    double l = ls[k] / counts[k], a = acs[k] / counts[k];
                    if (!emaInit || ema[k, 0] == 0 && ema[k, 1] == 0) { ema[k, 0] = l; ema[k, 1] = a; }
                    else { ema[k, 0] = 0.95 * ema[k, 0] + 0.05 * l; ema[k, 1] = 0.95 * ema[k, 1] + 0.05 * a; }
                }
                emaInit = true;
                if (trialStep >= 0)
                {
                    trial[trialStep < 8 ? 1 : 2] += Stopwatch.GetElapsedTime(stepStart).TotalSeconds;
                    if (++trialStep == 16)
                    {
                        threads = trial[1] <= trial[2] ? 1 : 2;
                        set_num_threads(threads);
                        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"threads: 1 → {trial[1] / 8:0.00} s/step, 2 → {trial[2] / 8:0.00} s/step; using {threads}"));
                        trialStep = -1;
                    }
                }
                StepsByThreads[Math.Clamp(usedThreads, 1, 2)]++;
                step++;
                StepsDone = step;
                TokensSeen += batch.Rows * batch.Length;
                winLoss += loss.item<float>(); winSteps++; winTokens += batch.Rows * batch.Length;

                double lookupAcc = ema[Packer.Bucket(LabTask.Lookup, true), 1];
                if (LookupPlateauExit is null && counts[Packer.Bucket(LabTask.Lookup, true)] > 0 && lookupAcc > 0.5) LookupPlateauExit = step;
                double repeatAcc = ema[Packer.Bucket(LabTask.Repeat, false), 1];
                if (RepeatPlateauExit is null && counts[Packer.Bucket(LabTask.Repeat, false)] > 0 && repeatAcc > 0.5) RepeatPlateauExit = step;

                if (step % settings.LogEvery == 0 || step == totalSteps)
                {
                    var line = string.Create(CultureInfo.InvariantCulture,
                        $"step {step,6}/{totalSteps} [{ph.Name}] {sw.Elapsed:hh\\:mm\\:ss} lr {lr:0.00e0} loss {winLoss / winSteps:0.000} {winTokens / winWatch.Elapsed.TotalSeconds:0} tok/s |");
                    foreach (var t in AllTasks)
                    {
                        if (ph.Mix[t] <= 0) continue;
                        int all = (int)t, val = Packer.Bucket(t, true);
                        double l = ema[all, 0], a = ema[all, 1];
                        bool hasValue = t is LabTask.Lookup or LabTask.Search;
                        if (t == LabTask.Lookup) { l = ema[val, 0]; a = ema[val, 1]; }
                        Last[t] = (l, a, hasValue ? ema[val, 1] : a);
                        line += string.Create(CultureInfo.InvariantCulture, $" {Short(t)} {l:0.000}/{a:0.00}");
                        if (t == LabTask.Search) line += string.Create(CultureInfo.InvariantCulture, $" (v {ema[val, 1]:0.00})");
                    }
                    log.WriteLine(line);
                    log.Flush();
                    History.Add(line);
                    winLoss = 0; winSteps = 0; winTokens = 0; winWatch.Restart();
                }
                if (checkpoint is not null && (step % checkpointEvery == 0 || step == phaseStart + ph.Steps)) checkpoint(step);
            }
        }
        finally
        {
            cts.Cancel();
            try { producer.Wait(); } catch (AggregateException) { }
            Elapsed = sw.Elapsed;
        }
        if (producer.Exception is { } ex) throw ex;
    }

    private static string Short(LabTask t) => t switch
    {
        LabTask.Arithmetic => "arith", LabTask.Lookup => "lookup", LabTask.Search => "search", LabTask.Refusal => "refusal", _ => "repeat",
    };

    private double LearningRate(Phase ph, int inPhase, int global)
    {
        double warm = global < settings.WarmupSteps ? (global + 1.0) / settings.WarmupSteps : 1.0;
        double decay = ph.DecayTo >= 1 ? 1 : ph.DecayTo + (1 - ph.DecayTo) * 0.5 * (1 + Math.Cos(Math.PI * inPhase / Math.Max(1, ph.Steps)));
        return ph.Lr * warm * decay;
    }

    /// <summary>Tokens of the repeat task: keys, values and the word pieces (no bytes, no control tokens).</summary>
    private List<int> RepeatPool()
    {
        var pool = new List<int>();
        for (int i = 0; i < vocab.Count; i++)
        {
            var p = vocab.Pieces[i];
            if (i <= LabVocabulary.EosId || p.StartsWith("<0x", StringComparison.Ordinal) && p.Length == 6) continue;
            pool.Add(i);
        }
        return pool;
    }

    private static LabSample Draw(Random rng, Phase ph, List<int> pool)
    {
        double total = AllTasks.Sum(t => ph.Mix[t]), u = rng.NextDouble() * total;
        var task = LabTask.Repeat;
        foreach (var t in AllTasks)
        {
            if (ph.Mix[t] <= 0) continue;
            task = t;
            if ((u -= ph.Mix[t]) < 0) break;
        }
        return task switch
        {
            LabTask.Arithmetic => Tasks.ArithmeticSample(rng),
            LabTask.Lookup => Tasks.LookupSample(rng, rng.Next(ph.MinRecords, ph.MaxRecords + 1), rng.Next(ph.MaxExtraQueries + 1)),
            LabTask.Search => Tasks.SearchSample(rng),
            LabTask.Refusal => Tasks.RefusalSample(rng),
            _ => Tasks.RepeatSample(rng, pool, ph.RepeatMaxLength),
        };
    }
}
