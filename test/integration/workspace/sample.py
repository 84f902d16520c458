def softmax(xs):
    """Numerically stable softmax of a list of floats."""
    m = max(xs)
    exps = [pow(2.718281828459045, x - m) for x in xs]
    total = sum(exps)
    return [e / total for e in exps]


if __name__ == "__main__":
    print(softmax([1.0, 2.0, 3.0]))
