package io.bridgehost.typed;

/**
 * WIT {@code tuple<...>}: {@code Tuple.Of2<A, B>} ... {@code Tuple.Of8<...>}, elements {@code v0},
 * {@code v1}, ... in order. The binding generator refuses tuples of more than 8 elements for Java.
 */
public final class Tuple {
    private Tuple() {}

    /**
     * A tuple of 1.
     *
     * @param <A> element 0's type
     * @param v0 element 0
     */
    public record Of1<A>(A v0) {}

    /**
     * A tuple of 2.
     *
     * @param <A> element 0's type
     * @param <B> element 1's type
     * @param v0 element 0
     * @param v1 element 1
     */
    public record Of2<A, B>(A v0, B v1) {}

    /**
     * A tuple of 3.
     *
     * @param <A> element 0's type
     * @param <B> element 1's type
     * @param <C> element 2's type
     * @param v0 element 0
     * @param v1 element 1
     * @param v2 element 2
     */
    public record Of3<A, B, C>(A v0, B v1, C v2) {}

    /**
     * A tuple of 4.
     *
     * @param <A> element 0's type
     * @param <B> element 1's type
     * @param <C> element 2's type
     * @param <D> element 3's type
     * @param v0 element 0
     * @param v1 element 1
     * @param v2 element 2
     * @param v3 element 3
     */
    public record Of4<A, B, C, D>(A v0, B v1, C v2, D v3) {}

    /**
     * A tuple of 5.
     *
     * @param <A> element 0's type
     * @param <B> element 1's type
     * @param <C> element 2's type
     * @param <D> element 3's type
     * @param <E> element 4's type
     * @param v0 element 0
     * @param v1 element 1
     * @param v2 element 2
     * @param v3 element 3
     * @param v4 element 4
     */
    public record Of5<A, B, C, D, E>(A v0, B v1, C v2, D v3, E v4) {}

    /**
     * A tuple of 6.
     *
     * @param <A> element 0's type
     * @param <B> element 1's type
     * @param <C> element 2's type
     * @param <D> element 3's type
     * @param <E> element 4's type
     * @param <F> element 5's type
     * @param v0 element 0
     * @param v1 element 1
     * @param v2 element 2
     * @param v3 element 3
     * @param v4 element 4
     * @param v5 element 5
     */
    public record Of6<A, B, C, D, E, F>(A v0, B v1, C v2, D v3, E v4, F v5) {}

    /**
     * A tuple of 7.
     *
     * @param <A> element 0's type
     * @param <B> element 1's type
     * @param <C> element 2's type
     * @param <D> element 3's type
     * @param <E> element 4's type
     * @param <F> element 5's type
     * @param <G> element 6's type
     * @param v0 element 0
     * @param v1 element 1
     * @param v2 element 2
     * @param v3 element 3
     * @param v4 element 4
     * @param v5 element 5
     * @param v6 element 6
     */
    public record Of7<A, B, C, D, E, F, G>(A v0, B v1, C v2, D v3, E v4, F v5, G v6) {}

    /**
     * A tuple of 8.
     *
     * @param <A> element 0's type
     * @param <B> element 1's type
     * @param <C> element 2's type
     * @param <D> element 3's type
     * @param <E> element 4's type
     * @param <F> element 5's type
     * @param <G> element 6's type
     * @param <H> element 7's type
     * @param v0 element 0
     * @param v1 element 1
     * @param v2 element 2
     * @param v3 element 3
     * @param v4 element 4
     * @param v5 element 5
     * @param v6 element 6
     * @param v7 element 7
     */
    public record Of8<A, B, C, D, E, F, G, H>(A v0, B v1, C v2, D v3, E v4, F v5, G v6, H v7) {}

}
