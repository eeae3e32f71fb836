using OnnxRev.Ir;

namespace OnnxRev.Schema;

/// <summary>
/// The operators of the standard ai.onnx domain (through opset 22), and the domains a model may use
/// without defining them itself. Used to reject unknown operators with a clear message before any
/// runtime sees the model.
/// </summary>
public static class OperatorCatalog
{
    private static readonly HashSet<string> Standard = new(StringComparer.Ordinal)
    {
        "Abs", "Acos", "Acosh", "Add", "AffineGrid", "And", "ArgMax", "ArgMin", "Asin", "Asinh", "Atan", "Atanh",
        "AveragePool", "BatchNormalization", "Bernoulli", "BitShift", "BitwiseAnd", "BitwiseNot", "BitwiseOr",
        "BitwiseXor", "BlackmanWindow", "Cast", "CastLike", "Ceil", "Celu", "CenterCropPad", "Clip", "Col2Im",
        "Compress", "Concat", "ConcatFromSequence", "Constant", "ConstantOfShape", "Conv", "ConvInteger",
        "ConvTranspose", "Cos", "Cosh", "CumSum", "DFT", "DeformConv", "DepthToSpace", "DequantizeLinear", "Det",
        "Div", "Dropout", "DynamicQuantizeLinear", "Einsum", "Elu", "Equal", "Erf", "Exp", "Expand", "EyeLike",
        "Flatten", "Floor", "GRU", "Gather", "GatherElements", "GatherND", "Gelu", "Gemm", "GlobalAveragePool",
        "GlobalLpPool", "GlobalMaxPool", "Greater", "GreaterOrEqual", "GridSample", "GroupNormalization",
        "HammingWindow", "HannWindow", "HardSigmoid", "HardSwish", "Hardmax", "Identity", "If", "ImageDecoder",
        "InstanceNormalization", "IsInf", "IsNaN", "LRN", "LSTM", "LayerNormalization", "LeakyRelu", "Less",
        "LessOrEqual", "Log", "LogSoftmax", "Loop", "LpNormalization", "LpPool", "MatMul", "MatMulInteger", "Max",
        "MaxPool", "MaxRoiPool", "MaxUnpool", "Mean", "MeanVarianceNormalization", "MelWeightMatrix", "Min", "Mish",
        "Mod", "Mul", "Multinomial", "Neg", "NegativeLogLikelihoodLoss", "NonMaxSuppression", "NonZero", "Not",
        "OneHot", "Optional", "OptionalGetElement", "OptionalHasElement", "Or", "PRelu", "Pad", "Pow",
        "QLinearConv", "QLinearMatMul", "QuantizeLinear", "RNN", "RandomNormal", "RandomNormalLike",
        "RandomUniform", "RandomUniformLike", "Range", "Reciprocal", "ReduceL1", "ReduceL2", "ReduceLogSum",
        "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum", "ReduceSumSquare",
        "RegexFullMatch", "Relu", "Reshape", "Resize", "ReverseSequence", "RoiAlign", "Round", "STFT", "Scan",
        "Scatter", "ScatterElements", "ScatterND", "Selu", "SequenceAt", "SequenceConstruct", "SequenceEmpty",
        "SequenceErase", "SequenceInsert", "SequenceLength", "SequenceMap", "Shape", "Shrink", "Sigmoid", "Sign",
        "Sin", "Sinh", "Size", "Slice", "Softmax", "SoftmaxCrossEntropyLoss", "Softplus", "Softsign", "SpaceToDepth",
        "Split", "SplitToSequence", "Sqrt", "Squeeze", "StringConcat", "StringNormalizer", "StringSplit", "Sub",
        "Sum", "Tan", "Tanh", "TfIdfVectorizer", "ThresholdedRelu", "Tile", "TopK", "Transpose", "Trilu", "Unique",
        "Unsqueeze", "Upsample", "Where", "Xor",
        // Operators removed from recent opsets but valid in old models (CNTK, early exporters).
        "ATen", "Affine", "Crop", "DynamicSlice", "GivenTensorFill", "ImageScaler", "ParametricSoftplus",
        "Scale", "ScaledTanh",
    };

    /// <summary>Domains whose operators ONNX Runtime or the ONNX-ML spec define.</summary>
    private static readonly HashSet<string> KnownDomains = new(StringComparer.Ordinal)
    {
        "ai.onnx.ml", "com.microsoft", "com.microsoft.nchwc", "com.microsoft.internal.nhwc", "ai.onnx.preview.training", "com.ms.internal.nhwc",
    };

    /// <summary>True when <paramref name="opType"/> is a standard ai.onnx operator.</summary>
    public static bool IsStandard(string opType) => Standard.Contains(opType);

    /// <summary>
    /// Throws <see cref="OnnxRevException"/> for the first node whose operator is neither standard,
    /// nor in a known runtime domain, nor a function the model defines.
    /// </summary>
    public static void CheckOperators(Model model, string source)
    {
        var functions = new HashSet<(string, string)>(model.Functions.Select(f => (f.Domain, f.Name)));
        foreach (var node in model.Graph.AllNodes())
        {
            if (functions.Contains((node.Domain, node.OpType))) continue;
            if (node.IsStandardDomain)
            {
                if (!Standard.Contains(node.OpType))
                    throw new OnnxRevException($"'{source}': {node.Describe()} uses operator '{node.OpType}', which is not an ONNX (ai.onnx) operator");
            }
            else if (!KnownDomains.Contains(node.Domain))
            {
                throw new OnnxRevException($"'{source}': {node.Describe()} uses operator '{node.OpType}' of domain '{node.Domain}', which neither ONNX Runtime nor the model defines");
            }
        }
    }
}
