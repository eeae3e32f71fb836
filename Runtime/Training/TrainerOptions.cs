namespace OnnxRev.Runtime.Training;

/// <summary>Learning-rate schedules computed on the host each step (the lr is a graph input).</summary>
public enum LrSchedule
{
    /// <summary>The base rate throughout.</summary>
    Constant,
    /// <summary>Cosine decay from the base rate to 0 over all steps.</summary>
    Cosine,
    /// <summary>Linear warm-up over <see cref="TrainerOptions.WarmupSteps"/>, then cosine decay.</summary>
    WarmupCosine,
}

/// <summary>How a training run goes.</summary>
public sealed record TrainerOptions
{
    /// <summary>Epochs to train.</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>Batch size (the last partial batch of an epoch is dropped so every step has the same shape).</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Base learning rate.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Schedule of the learning rate.</summary>
    public LrSchedule Schedule { get; init; } = LrSchedule.Constant;

    /// <summary>Warm-up steps for <see cref="LrSchedule.WarmupCosine"/>.</summary>
    public int WarmupSteps { get; init; }

    /// <summary>Seed of the data order.</summary>
    public int Seed { get; init; }

    /// <summary>ONNX Runtime session settings (device, threads, optimization level).</summary>
    public RunnerOptions Runner { get; init; } = new();

    /// <summary>Folder for checkpoints; null for none.</summary>
    public string? CheckpointDir { get; init; }

    /// <summary>Write a checkpoint every this many steps (and at the end of every epoch).</summary>
    public int CheckpointEvery { get; init; } = 100;

    /// <summary>Continue from the checkpoint in <see cref="CheckpointDir"/>.</summary>
    public bool Resume { get; init; }

    /// <summary>Called after every step with (step, epoch, loss, samples per second).</summary>
    public Action<TrainingProgress>? Progress { get; init; }

    /// <summary>Stop after this many steps in total (for tests and benchmarks); null for all epochs.</summary>
    public long? MaxSteps { get; init; }
}

/// <summary>What the trainer reports after each step.</summary>
public readonly record struct TrainingProgress(long Step, long TotalSteps, int Epoch, int EpochBatch, int BatchesPerEpoch, double Loss, double SamplesPerSecond);
