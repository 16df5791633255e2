"""Seed 004: the same gradient with TensorFlow's GradientTape
(tf.Variable -> a tensor that requires grad, tf.reduce_sum -> sg.reduce_sum)."""
import staticgrad as sg

x = sg.tensor([1.0, 2.0, 3.0], dtype=sg.float32, requires_grad=True)

with sg.GradientTape() as tape:
    y = sg.reduce_sum(x ** 2)

grads = tape.gradient(y, x)
print(grads)
