"""A slider and a spin box showing one value: the What-if view's control for one input."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QSlider, QWidget


class SliderSpin(QWidget):
    """A slider and a spin box showing one value; the slider covers the usual range, the box any valid value."""

    valueChanged = Signal(float)

    def __init__(self, lo: float, hi: float, step: float, box_lo: float, box_hi: float, decimals: int,
                 suffix: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.step = step
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(round(lo / step), round(hi / step))
        self.spin = QDoubleSpinBox()
        self.spin.setRange(box_lo, box_hi)
        self.spin.setDecimals(decimals)
        self.spin.setSingleStep(step)
        self.spin.setSuffix(suffix)
        self.spin.setGroupSeparatorShown(True)
        self.spin.setKeyboardTracking(False)
        self.spin.setMinimumWidth(150)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.spin)
        self.slider.valueChanged.connect(self._from_slider)
        self.spin.valueChanged.connect(self._from_spin)

    def value(self) -> float:
        return float(self.spin.value())

    def set_value(self, v: float, *, silent: bool = False) -> None:
        if silent:
            self.spin.blockSignals(True)
            self.slider.blockSignals(True)
        try:
            self.spin.setValue(v)
            if silent:
                self.slider.setValue(self._position(v))
        finally:
            if silent:
                self.spin.blockSignals(False)
                self.slider.blockSignals(False)

    def _from_slider(self, i: int) -> None:
        self.spin.setValue(i * self.step)     # emits through _from_spin

    def _position(self, v: float) -> int:
        """The slider position showing ``v``, clamped to the slider's range before it becomes an int.

        The box takes any valid value, the slider only the usual range: a value far outside it (a price
        at the schema's cap, a scenario from before a cap) must pin the slider to its end, not reach
        QSlider.setValue as a number past a C int, which raised OverflowError inside the slot and left
        the view's refresh half-done.
        """
        lo, hi = self.slider.minimum(), self.slider.maximum()
        x = v / self.step
        if math.isnan(x):
            return lo
        return int(round(min(max(x, float(lo)), float(hi))))

    def _from_spin(self, v: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(self._position(v))
        self.slider.blockSignals(False)
        self.valueChanged.emit(float(v))
