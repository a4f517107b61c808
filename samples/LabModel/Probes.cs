namespace AttnEval.Samples.LabModel;

/// <summary>What the probes before the shipped run measured (written into the model card). Each probe is reproducible
/// with the <c>probe</c> command shown.</summary>
internal static class Probes
{
    public static readonly string[] Notes =
    [
        "The feasibility notes (`../shared/specs/lab-model-notes.md`) reported that a character-level prototype never left the",
        "chance plateau on key–value lookup. Following their advice, this trainer uses single-token keys and values, lookup",
        "questions whose answer follows the question directly, several independently drawn questions per sample (no",
        "elimination leak), batches of 64 rows, a constant learning rate of 1.5e-3 until lookup is learned, and the",
        "repeated-random-sequence task first as a sanity check of the training code. Probes (same model shape unless noted,",
        "seed 1234, one or two libtorch threads on a 2-core machine shared with other builds, 2–10k tokens/s):",
        "",
        "| probe | command | result |",
        "|---|---|---|",
        "| repeated random sequences only, **2 layers**, 64 × 64 tokens | `probe --mix 0,0,0,0,1 --layers 2 --rows 64 --len 64 --steps 800` | accuracy on the repeat 0.10 at step 200, 0.78 at 300, 0.97 at 350: left the plateau at **step 271**; the backend's Llama code trains an induction circuit as a correct transformer should |",
        "| lookup (2–16 records, 0–4 extra questions) 70 % + repeat 30 %, 4 layers, 64 × 128 tokens, 2 threads | same, `--threads 2` | stopped at step 50: 1.5k tokens/s — two OpenMP threads that wait for each other at every operator on an over-subscribed machine; hence the trainer's thread choice (1 or 2, re-timed every 250 steps) |",
        "| the same with 1 thread | `probe --mix 0,0.7,0,0,0.3 --steps 1500 --rows 64 --len 128 --queries 4 --records 2-16 --threads 1` | value-token accuracy sat at 0.15–0.17 (loss ≈ 3.2, the \"pick any value in the context\" level) from step 150 to step 575, then jumped: 0.23 at 575, 0.70 at 600, 0.91 at 625, 1.00 at 700 — **left the plateau at about step 590**, together with the repeat task (0.44 at 550, 0.63 at 575, 0.98 at 675); stopped at step 750 |",
        "| first full run: the shipped schedule with an arithmetic share of 0.45 (0.2 lookup, 0.1 search), multiplication only below 1000, and the search episode ending `</result>\\n<answer> V55</answer>` | `train` (earlier version) | 4,100 steps in 28 min (up to 19k tokens/s once the machine was quiet): lookup left its plateau at step 703 and the repeat task at 646, but the search value only at about step 2,400 (smoothed accuracy 0.11 at 2,300, 0.46 at 2,400, 0.95 at 2,500) — at the answer the key sits a variable 20–70 tokens back. Held-out: lookup 100% at every record count up to 64, search 100%, refusal 100% / 0%, but arithmetic 89.7% (93 / 90 / 92 / 83% by steps): above the 35–85% band and hardly falling with steps, so not a useful uncertainty benchmark |",
        "",
        "Changes for the shipped run (the second full run): the search episode's last turn first restates",
        "`The value of K03 is V55.` (\"of\" → the key, as in the question, and \"is\" → the token after that key: two",
        "induction steps) and then answers `<answer> V55</answer>`; multiplication is allowed while the value is below 10,000,",
        "so values grow with the number of steps; arithmetic is 37% of the samples (search 16%). With these, the search value left",
        "its plateau at about step 600 (smoothed accuracy 0.56 at 550, 0.86 at 600, 0.98 at 650) instead of 2,400, together",
        "with lookup (577) and the repeat task (547); lookup, search and refusal were perfect on held-out items by step 2,000.",
        "Arithmetic on the first 120 held-out items at snapshots of that run: 30.0% at step 2,000 (47 / 43 / 20 / 10% by",
        "steps), 46.7% at 2,500, 52.5% at 3,000, 57.5% at 3,400 (87 / 60 / 50 / 33%; the end of the constant learning rate);",
        "the 700 annealed steps then raised it to the 84.2% of the results above. A third run with a shorter schedule (1,900",
        "mix + 500 annealed steps), meant to land nearer 70%, was stopped at step 516 and is not shipped.",
    ];
}
