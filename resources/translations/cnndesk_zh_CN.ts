<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN" sourcelanguage="en">
<context>
    <name></name>
    <message>
        <source>it closed before the first epoch ended, so nothing was saved</source>
        <translation>它在第一轮结束前就关闭了，因此没有保存任何内容</translation>
    </message>
    <message>
        <source>estimating…</source>
        <translation>估算中…</translation>
    </message>
    <message>
        <source>1 epoch</source>
        <translation>1 轮</translation>
    </message>
    <message>
        <source>{n} epochs</source>
        <translation>{n} 轮</translation>
    </message>
    <message>
        <source>{n:.2f} epochs</source>
        <translation>{n:.2f} 轮</translation>
    </message>
    <message>
        <source>no augment</source>
        <translation>无增强</translation>
    </message>
    <message>
        <source>Kept epoch {epoch} ({accuracy}) in {file}.</source>
        <translation>已将第 {epoch} 轮（{accuracy}）保存到 {file}。</translation>
    </message>
    <message>
        <source>{model} trained {epochs}: test accuracy {accuracy}. Saved {file}.</source>
        <translation>{model} 已训练 {epochs}：测试集准确率 {accuracy}。已保存 {file}。</translation>
    </message>
    <message>
        <source>{model} reached the target after {epochs}: test accuracy {accuracy}. Saved {file}.</source>
        <translation>{model} 训练 {epochs} 后达到目标：测试集准确率 {accuracy}。已保存 {file}。</translation>
    </message>
    <message>
        <source>Stopped. {kept}</source>
        <translation>已停止。{kept}</translation>
    </message>
    <message>
        <source>Stopped. {kept} {hint}</source>
        <translation>已停止。{kept}{hint}</translation>
    </message>
    <message>
        <source>Resume run… continues it.</source>
        <translation>可用“继续训练…”接着训练。</translation>
    </message>
    <message>
        <source>Stopped before the first epoch ended: nothing was saved, and the previous model stays.</source>
        <translation>在第一轮结束前停止：未保存任何内容，保留之前的模型。</translation>
    </message>
    <message>
        <source>Training diverged at step {step} (loss {loss}): lower the learning rate.</source>
        <translation>训练在第 {step} 步发散（损失 {loss}）：请降低学习率。</translation>
    </message>
    <message>
        <source>Nothing was saved, and the previous model stays.</source>
        <translation>未保存任何内容，保留之前的模型。</translation>
    </message>
    <message>
        <source>Could not resume: {error}</source>
        <translation>无法继续训练：{error}</translation>
    </message>
    <message>
        <source>Training failed: {error}</source>
        <translation>训练失败：{error}</translation>
    </message>
</context>
<context>
    <name>ActivationsView</name>
    <message>
        <source>Click a cell to see how it was computed; double-click a map to enlarge it.</source>
        <translation>点击单元格查看其计算过程；双击特征图可放大。</translation>
    </message>
    <message>
        <source>{layer} · channel {channel}</source>
        <translation>{layer} · 通道 {channel}</translation>
    </message>
</context>
<context>
    <name>AttributionPanel</name>
    <message>
        <source>Why?</source>
        <translation>为什么？</translation>
    </message>
    <message>
        <source>This model runs in onnxruntime: without PyTorch weights cnndesk cannot take gradients through it. Occlusion needs none: choose it to see which pixels decide.</source>
        <translation>此模型在 onnxruntime 中运行：没有 PyTorch 权重，cnndesk 无法对它求梯度。遮挡法不需要梯度：选择它即可查看哪些像素决定了结果。</translation>
    </message>
</context>
<context>
    <name>AttributionView</name>
    <message>
        <source>Saliency (gradient)</source>
        <translation>显著图（梯度）</translation>
    </message>
    <message>
        <source>Grad-CAM</source>
        <translation>Grad-CAM</translation>
    </message>
    <message>
        <source>Integrated Gradients</source>
        <translation>积分梯度</translation>
    </message>
    <message>
        <source>Occlusion</source>
        <translation>遮挡</translation>
    </message>
    <message>
        <source>predicted class</source>
        <translation>预测类别</translation>
    </message>
    <message>
        <source>—</source>
        <translation>—</translation>
    </message>
    <message>
        <source>The convolution layer Grad-CAM weighs</source>
        <translation>Grad-CAM 所加权的卷积层</translation>
    </message>
    <message>
        <source>Saliency and Grad-CAM follow the pen; Integrated Gradients and occlusion are computed in the background and appear when ready</source>
        <translation>显著图和 Grad-CAM 随笔迹实时更新；积分梯度和遮挡在后台计算，完成后显示</translation>
    </message>
    <message>
        <source>Why this class and not that one: the difference of the two maps</source>
        <translation>为什么是这一类而不是那一类：两张图之差</translation>
    </message>
    <message>
        <source>Method</source>
        <translation>方法</translation>
    </message>
    <message>
        <source>Class</source>
        <translation>类别</translation>
    </message>
    <message>
        <source>not</source>
        <translation>而非</translation>
    </message>
    <message>
        <source>Layer</source>
        <translation>层</translation>
    </message>
    <message>
        <source>over the model input</source>
        <translation>叠加在模型输入上</translation>
    </message>
    <message>
        <source>Red: these pixels raise the class&apos;s score; blue: they lower it; white and transparent: no effect.</source>
        <translation>红色：这些像素提高该类的得分；蓝色：降低得分；白色和透明：无影响。</translation>
    </message>
    <message>
        <source>Point at a pixel to read its attribution.</source>
        <translation>指向一个像素可读取其归因值。</translation>
    </message>
    <message>
        <source>Double-click the map to enlarge it.</source>
        <translation>双击图可放大。</translation>
    </message>
    <message>
        <source>Computing…</source>
        <translation>计算中…</translation>
    </message>
    <message>
        <source>attribution</source>
        <translation>归因</translation>
    </message>
    <message>
        <source>Draw a digit to see which pixels decide the prediction.</source>
        <translation>画一个数字，看看哪些像素决定了预测。</translation>
    </message>
    <message>
        <source>{method} for {target}</source>
        <translation>{method}：{target}</translation>
    </message>
    <message>
        <source>{method}: {target} minus {versus}</source>
        <translation>{method}：{target} 减 {versus}</translation>
    </message>
    <message>
        <source>The model says {predicted}.</source>
        <translation>模型预测为 {predicted}。</translation>
    </message>
    <message>
        <source>Completeness: the map sums to the score&apos;s rise from a blank input within {error:.2%}.</source>
        <translation>完备性：图的总和与相对空白输入的得分增量相差在 {error:.2%} 以内。</translation>
    </message>
    <message>
        <source>Grad-CAM on {layer}, scaled up to 28×28.</source>
        <translation>{layer} 上的 Grad-CAM，放大到 28×28。</translation>
    </message>
    <message>
        <source>Pixel ({x}, {y}): {value:+.4f}</source>
        <translation>像素 ({x}, {y})：{value:+.4f}</translation>
    </message>
</context>
<context>
    <name>CellExplainer</name>
    <message>
        <source>Close the explanation and clear the selected cell</source>
        <translation>关闭解释并清除所选单元格</translation>
    </message>
    <message>
        <source>&lt;b&gt;{label}&lt;/b&gt; · channel {channel} · row {y}, column {x} = &lt;b&gt;{value}&lt;/b&gt;</source>
        <translation>&lt;b&gt;{label}&lt;/b&gt; · 通道 {channel} · 第 {y} 行第 {x} 列 = &lt;b&gt;{value}&lt;/b&gt;</translation>
    </message>
    <message>
        <source> · sees {w}×{h} input pixels (orange)</source>
        <translation> · 看到 {w}×{h} 个输入像素（橙色）</translation>
    </message>
    <message>
        <source>&lt;b&gt;{label}&lt;/b&gt; · unit {unit} = &lt;b&gt;{value}&lt;/b&gt;</source>
        <translation>&lt;b&gt;{label}&lt;/b&gt; · 单元 {unit} = &lt;b&gt;{value}&lt;/b&gt;</translation>
    </message>
    <message>
        <source>patch</source>
        <translation>图块</translation>
    </message>
    <message>
        <source>kernel</source>
        <translation>卷积核</translation>
    </message>
    <message>
        <source>product</source>
        <translation>乘积</translation>
    </message>
    <message>
        <source>window</source>
        <translation>窗口</translation>
    </message>
    <message>
        <source>Σ products</source>
        <translation>Σ 乘积</translation>
    </message>
    <message>
        <source>+ bias</source>
        <translation>+ 偏置</translation>
    </message>
    <message>
        <source>BatchNorm</source>
        <translation>批归一化</translation>
    </message>
    <message>
        <source>main path</source>
        <translation>主路径</translation>
    </message>
    <message>
        <source>shortcut</source>
        <translation>捷径</translation>
    </message>
    <message>
        <source>main + shortcut</source>
        <translation>主路径 + 捷径</translation>
    </message>
    <message>
        <source>pooled</source>
        <translation>池化后</translation>
    </message>
    <message>
        <source>the normalised input</source>
        <translation>归一化后的输入</translation>
    </message>
    <message>
        <source> … ({count} channels)</source>
        <translation> …（共 {count} 个通道）</translation>
    </message>
    <message>
        <source>Each input channel of {source}: Σ patch × kernel = {terms}{more}</source>
        <translation>{source} 的每个输入通道：Σ 图块 × 卷积核 = {terms}{more}</translation>
    </message>
    <message>
        <source>Σ over channels {total} + bias {bias} = &lt;b&gt;{pre}&lt;/b&gt; (pre-activation)</source>
        <translation>各通道之和 {total} + 偏置 {bias} = &lt;b&gt;{pre}&lt;/b&gt;（激活前）</translation>
    </message>
    <message>
        <source>The largest of the {count} values in the window of {source}: &lt;b&gt;{value}&lt;/b&gt; (outlined)</source>
        <translation>{source} 窗口中 {count} 个值的最大值：&lt;b&gt;{value}&lt;/b&gt;（已框出）</translation>
    </message>
    <message>
        <source>The mean of the {count} values in the window of {source}: &lt;b&gt;{value}&lt;/b&gt;</source>
        <translation>{source} 窗口中 {count} 个值的平均值：&lt;b&gt;{value}&lt;/b&gt;</translation>
    </message>
    <message>
        <source>The inputs from {source} that weigh most (input × weight):</source>
        <translation>来自 {source} 的贡献最大的输入（输入 × 权重）：</translation>
    </message>
    <message>
        <source>Σ of all inputs × weights + bias {bias} = &lt;b&gt;{pre}&lt;/b&gt; (pre-activation)</source>
        <translation>Σ 所有输入 × 权重 + 偏置 {bias} = &lt;b&gt;{pre}&lt;/b&gt;（激活前）</translation>
    </message>
    <message>
        <source>NumPy reference {value} · PyTorch {torch} · |Δ| {delta:.1e}</source>
        <translation>NumPy 参考值 {value} · PyTorch {torch} · |Δ| {delta:.1e}</translation>
    </message>
    <message>
        <source>It sees input pixels x {x0}–{x1}, y {y0}–{y1} ({w}×{h}): the orange outline on the canvas and on the model input.</source>
        <translation>它看到的输入像素为 x {x0}–{x1}、y {y0}–{y1}（{w}×{h}）：即画布和模型输入上的橙色框。</translation>
    </message>
    <message>
        <source>input</source>
        <translation>输入</translation>
    </message>
    <message>
        <source>{what} · channel {channel} ({y}, {x}): {value}</source>
        <translation>{what} · 通道 {channel} ({y}, {x})：{value}</translation>
    </message>
</context>
<context>
    <name>ConfusionMatrixView</name>
    <message>
        <source>predicted</source>
        <translation>预测</translation>
    </message>
    <message>
        <source>true digit</source>
        <translation>真实数字</translation>
    </message>
    <message>
        <source>Rows: the true digit; columns: what the model said. Click a cell to see its images.</source>
        <translation>行：真实数字；列：模型的预测。点击单元格查看其图像。</translation>
    </message>
    <message>
        <source>A true {true} predicted as {predicted}: {count} images</source>
        <translation>真实为 {true}、预测为 {predicted}：{count} 张图像</translation>
    </message>
</context>
<context>
    <name>DrawingCanvas</name>
    <message>
        <source>Draw a digit. Esc clears, Ctrl+Z undoes the last stroke; drop an image to load it.</source>
        <translation>画一个数字。Esc 清除，Ctrl+Z 撤销上一笔；拖入图像即可加载。</translation>
    </message>
    <message>
        <source>{path}: no digit found (the image is blank).</source>
        <translation>{path}：未找到数字（图像是空白的）。</translation>
    </message>
    <message>
        <source>Draw a digit here</source>
        <translation>在此画一个数字</translation>
    </message>
</context>
<context>
    <name>DrawingPanel</name>
    <message>
        <source>Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.tif *.tiff *.pgm *.ppm)</source>
        <translation>图像 (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.tif *.tiff *.pgm *.ppm)</translation>
    </message>
    <message>
        <source>Clear</source>
        <translation>清除</translation>
    </message>
    <message>
        <source>Clear the canvas (Esc)</source>
        <translation>清空画布 (Esc)</translation>
    </message>
    <message>
        <source>Undo</source>
        <translation>撤销</translation>
    </message>
    <message>
        <source>Undo the last stroke (Ctrl+Z)</source>
        <translation>撤销上一笔 (Ctrl+Z)</translation>
    </message>
    <message>
        <source>Open image…</source>
        <translation>打开图像…</translation>
    </message>
    <message>
        <source>Open a photo or scan of a digit (Ctrl+I), or drop it on the canvas</source>
        <translation>打开数字的照片或扫描件 (Ctrl+I)，或将其拖到画布上</translation>
    </message>
    <message>
        <source>Brush width</source>
        <translation>笔刷宽度</translation>
    </message>
    <message>
        <source>Brush</source>
        <translation>笔刷</translation>
    </message>
    <message>
        <source>Open &amp;image…</source>
        <translation>打开图像(&amp;I)…</translation>
    </message>
    <message>
        <source>Open an image of a digit</source>
        <translation>打开一张数字图像</translation>
    </message>
    <message>
        <source>&amp;Undo stroke</source>
        <translation>撤销笔画(&amp;U)</translation>
    </message>
    <message>
        <source>&amp;Clear canvas</source>
        <translation>清空画布(&amp;C)</translation>
    </message>
    <message>
        <source>Opened {file}</source>
        <translation>已打开 {file}</translation>
    </message>
    <message>
        <source>Open image</source>
        <translation>打开图像</translation>
    </message>
</context>
<context>
    <name>EnlargedMap</name>
    <message>
        <source>Esc or a click closes it.</source>
        <translation>按 Esc 或单击即可关闭。</translation>
    </message>
</context>
<context>
    <name>ExperimentsTab</name>
    <message>
        <source>Experiments</source>
        <translation>实验</translation>
    </message>
</context>
<context>
    <name>ExperimentsView</name>
    <message>
        <source>Activations of the current model (ReLU / Tanh / Sigmoid / LeakyReLU)</source>
        <translation>当前模型的各种激活函数（ReLU / Tanh / Sigmoid / LeakyReLU）</translation>
    </message>
    <message>
        <source>CNN vs MLP (LeNet5, CNN2, MLP)</source>
        <translation>CNN 对比 MLP（LeNet5、CNN2、MLP）</translation>
    </message>
    <message>
        <source>LeNet5 vs Net2 vs CNN2</source>
        <translation>LeNet5、Net2、CNN2 对比</translation>
    </message>
    <message>
        <source>{n} images</source>
        <translation>{n} 张图像</translation>
    </message>
    <message>
        <source>all images</source>
        <translation>全部图像</translation>
    </message>
    <message>
        <source>{run} — {epochs}, {images}</source>
        <translation>{run} — {epochs}，{images}</translation>
    </message>
    <message>
        <source>all</source>
        <translation>全部</translation>
    </message>
    <message>
        <source>augmented</source>
        <translation>数据增强</translation>
    </message>
    <message>
        <source>no augmentation</source>
        <translation>无数据增强</translation>
    </message>
    <message>
        <source>{images} training images, {epochs} epochs, batch {batch}, lr {lr}, {optimizer}, {schedule} schedule, weight decay {weight_decay}, {augment}, device {device}</source>
        <translation>{images} 张训练图像，{epochs} 轮，批大小 {batch}，学习率 {lr}，{optimizer}，{schedule} 调度，权重衰减 {weight_decay}，{augment}，设备 {device}</translation>
    </message>
    <message>
        <source>Runs waiting to train, in order</source>
        <translation>按顺序等待训练的运行</translation>
    </message>
    <message>
        <source>Add current settings</source>
        <translation>添加当前设置</translation>
    </message>
    <message>
        <source>Queue a run with the settings of the Training tab</source>
        <translation>用“训练”页的设置将一次运行加入队列</translation>
    </message>
    <message>
        <source>Add comparison</source>
        <translation>添加对比</translation>
    </message>
    <message>
        <source>Queue a classic comparison, with the epochs and images of the Training tab</source>
        <translation>将一组经典对比加入队列，使用“训练”页的轮次和图像数</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <source>Remove the selected runs from the queue</source>
        <translation>从队列中移除所选运行</translation>
    </message>
    <message>
        <source>Clear queue</source>
        <translation>清空队列</translation>
    </message>
    <message>
        <source>Run queue</source>
        <translation>运行队列</translation>
    </message>
    <message>
        <source>Train the queued runs one after another</source>
        <translation>依次训练队列中的运行</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <source>Stop the run in progress after its batch; the rest stay queued</source>
        <translation>在当前批次后停止正在进行的运行；其余仍在队列中</translation>
    </message>
    <message>
        <source>Queue runs, then Run queue: they train one after another, and the table and curves compare them.</source>
        <translation>先将运行加入队列，再点“运行队列”：它们依次训练，表格和曲线对比其结果。</translation>
    </message>
    <message>
        <source>Queue</source>
        <translation>队列</translation>
    </message>
    <message>
        <source>Export CSV…</source>
        <translation>导出 CSV…</translation>
    </message>
    <message>
        <source>Save the table as a CSV file (Ctrl+E)</source>
        <translation>将表格保存为 CSV 文件 (Ctrl+E)</translation>
    </message>
    <message>
        <source>&amp;Export experiments as CSV…</source>
        <translation>将实验导出为 CSV(&amp;E)…</translation>
    </message>
    <message>
        <source>Save the Experiments table as a CSV file</source>
        <translation>将实验表格保存为 CSV 文件</translation>
    </message>
    <message>
        <source>Clear results</source>
        <translation>清除结果</translation>
    </message>
    <message>
        <source>Test accuracy per epoch</source>
        <translation>每轮测试集准确率</translation>
    </message>
    <message>
        <source>epoch</source>
        <translation>轮次</translation>
    </message>
    <message>
        <source>Training loss (smoothed)</source>
        <translation>训练损失（平滑）</translation>
    </message>
    <message>
        <source>Colours as in the table; select rows there to pick out their runs&apos; curves</source>
        <translation>颜色与表格一致；在表格中选择行可突出对应运行的曲线</translation>
    </message>
    <message>
        <source>Not queued: {error}</source>
        <translation>未加入队列：{error}</translation>
    </message>
    <message>
        <source>A training run is in progress: stop it or wait for it to end, then run the queue.</source>
        <translation>正在训练：请停止或等待其结束，再运行队列。</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>启动中…</translation>
    </message>
    <message>
        <source>Run {run}/{runs}: {label} — starting…</source>
        <translation>运行 {run}/{runs}：{label} — 启动中…</translation>
    </message>
    <message>
        <source>Stopped after {done} run(s); {left} still queued.</source>
        <translation>完成 {done} 次运行后停止；队列中还有 {left} 次。</translation>
    </message>
    <message>
        <source>Queue done: {done} run(s), compared in the table.</source>
        <translation>队列完成：{done} 次运行，已在表格中对比。</translation>
    </message>
    <message>
        <source>Run {run}/{runs}: {label}</source>
        <translation>运行 {run}/{runs}：{label}</translation>
    </message>
    <message>
        <source>{run} — epoch {epoch}/{epochs} · batch {batch}/{batches} · loss {loss} · ETA {eta}</source>
        <translation>{run} — 轮次 {epoch}/{epochs} · 批次 {batch}/{batches} · 损失 {loss} · 剩余 {eta}</translation>
    </message>
    <message>
        <source>{run} training; the prediction follows its weights.</source>
        <translation>{run} 训练中；预测随其权重更新。</translation>
    </message>
    <message>
        <source>Run {run} ({label}) failed: {error}</source>
        <translation>运行 {run}（{label}）失败：{error}</translation>
    </message>
    <message>
        <source>Export experiments as CSV</source>
        <translation>将实验导出为 CSV</translation>
    </message>
    <message>
        <source>CSV files (*.csv)</source>
        <translation>CSV 文件 (*.csv)</translation>
    </message>
    <message>
        <source>Saved {path}</source>
        <translation>已保存 {path}</translation>
    </message>
</context>
<context>
    <name>FiltersPanel</name>
    <message>
        <source>Kernels</source>
        <translation>卷积核</translation>
    </message>
    <message>
        <source>What excites each channel</source>
        <translation>通道偏好</translation>
    </message>
    <message>
        <source>Filters</source>
        <translation>卷积核</translation>
    </message>
    <message>
        <source>This model runs in onnxruntime: its kernels are inside the ONNX graph, not PyTorch weights cnndesk can show, and without gradients nothing can be found that excites a channel.</source>
        <translation>此模型在 onnxruntime 中运行：它的卷积核在 ONNX 图中，不是 cnndesk 能显示的 PyTorch 权重；没有梯度，也无法找出激发某个通道的输入。</translation>
    </message>
</context>
<context>
    <name>FiltersView</name>
    <message>
        <source>Double-click a kernel to enlarge it.</source>
        <translation>双击卷积核可放大。</translation>
    </message>
    <message>
        <source>{name} · {count} units, each a 28×28 template of weights</source>
        <translation>{name} · {count} 个单元，每个是 28×28 的权重模板</translation>
    </message>
    <message>
        <source>{name} · {count} kernels of {shape}</source>
        <translation>{name} · {count} 个 {shape} 的卷积核</translation>
    </message>
    <message>
        <source>This model has no convolution and no fully connected first layer on the input to show.</source>
        <translation>该模型的第一层既不是卷积层也不是全连接层，没有可显示的内容。</translation>
    </message>
    <message>
        <source>{kernel} · kernel of {size}</source>
        <translation>{kernel} · {size} 的卷积核</translation>
    </message>
    <message>
        <source>Point at a weight to read it; blue is negative, red positive, white zero.</source>
        <translation>指向一个权重可读取其值；蓝色为负，红色为正，白色为零。</translation>
    </message>
</context>
<context>
    <name>HealthPanel</name>
    <message>
        <source>Layer health</source>
        <translation>层健康度</translation>
    </message>
    <message>
        <source>This model runs in onnxruntime: it has no PyTorch weights to train, so it has no layer health. Train a new model to watch its layers learn.</source>
        <translation>此模型在 onnxruntime 中运行：它没有可训练的 PyTorch 权重，因此没有层健康数据。训练一个新模型，即可观察其各层的学习过程。</translation>
    </message>
</context>
<context>
    <name>HealthView</name>
    <message>
        <source>Activation mean ± std</source>
        <translation>激活均值 ± 标准差</translation>
    </message>
    <message>
        <source>Dead ReLU units</source>
        <translation>死亡 ReLU 单元</translation>
    </message>
    <message>
        <source>Gradient norm ‖∇w‖</source>
        <translation>梯度范数 ‖∇w‖</translation>
    </message>
    <message>
        <source>Update ratio ‖Δw‖ / ‖w‖</source>
        <translation>更新比 ‖Δw‖ / ‖w‖</translation>
    </message>
    <message>
        <source>step</source>
        <translation>步</translation>
    </message>
    <message>
        <source>healthy update ratio ≈ 1e-3</source>
        <translation>健康更新比 ≈ 1e-3</translation>
    </message>
    <message>
        <source>Dead: half or more of a layer&apos;s ReLU units output 0 for every image of a batch.
Saturated: half or more of a sigmoid or tanh layer&apos;s outputs sit on its flat ends, where the gradient is almost 0.
Vanishing: a layer&apos;s gradient is under a thousandth of the largest layer&apos;s.
Update ratio: how much of a layer&apos;s weights one step changes; about 1e-3 is healthy, under 1e-5 the layer barely learns, over 1e-1 it is thrown around.</source>
        <translation>死亡：一层中一半或更多的 ReLU 单元对批次中每张图像都输出 0。
饱和：sigmoid 或 tanh 层一半或更多的输出落在函数平坦的两端，那里的梯度几乎为 0。
消失：一层的梯度不到最大那层的千分之一。
更新比：一步改变一层权重的比例；约 1e-3 为健康，低于 1e-5 该层几乎不学习，高于 1e-1 则剧烈震荡。</translation>
    </message>
    <message>
        <source>While a run trains, each layer&apos;s activations, gradients and updates are measured about once a second.</source>
        <translation>训练时，每层的激活、梯度和更新大约每秒测量一次。</translation>
    </message>
    <message>
        <source>Saturated units (sigmoid, tanh)</source>
        <translation>饱和单元（sigmoid、tanh）</translation>
    </message>
    <message>
        <source>Dead (ReLU) / saturated (sigmoid, tanh) units</source>
        <translation>死亡（ReLU）/ 饱和（sigmoid、tanh）单元</translation>
    </message>
    <message>
        <source>Step {step}: no warning signs.</source>
        <translation>第 {step} 步：没有异常迹象。</translation>
    </message>
    <message>
        <source>Step {step}:</source>
        <translation>第 {step} 步：</translation>
    </message>
    <message>
        <source>{layers}: {percents} of units dead (0 for every image of the batch) — lower the learning rate</source>
        <translation>{layers}：{percents} 的单元死亡（对批次中每张图像都输出 0）— 请降低学习率</translation>
    </message>
    <message>
        <source>{layers}: {percents} of outputs on the flat ends of the {activation}, where gradients vanish — try smaller initial weights, BatchNorm or ReLU</source>
        <translation>{layers}：{percents} 的输出落在 {activation} 平坦的两端，梯度在那里消失 — 试试更小的初始权重、批归一化或 ReLU</translation>
    </message>
    <message>
        <source>{layers}: gradient {ratios} times the largest layer&apos;s — vanishing gradients: ReLU or BatchNorm help</source>
        <translation>{layers}：梯度仅为最大那层的 {ratios} 倍 — 梯度消失：ReLU 或批归一化会有帮助</translation>
    </message>
    <message>
        <source>{layers}: a step changes {ratios} of the weights (healthy ≈ 1e-3) — they barely learn: raise the learning rate</source>
        <translation>{layers}：每步改变权重的 {ratios}（健康 ≈ 1e-3）— 几乎不学习：请提高学习率</translation>
    </message>
    <message>
        <source>{layers}: a step changes {ratios} of the weights (healthy ≈ 1e-3) — far too much: lower the learning rate</source>
        <translation>{layers}：每步改变权重的 {ratios}（健康 ≈ 1e-3）— 变化过大：请降低学习率</translation>
    </message>
    <message>
        <source>{layers}: the gradient is not a number — the run diverges: lower the learning rate</source>
        <translation>{layers}：梯度不是数值（NaN）— 训练发散：请降低学习率</translation>
    </message>
</context>
<context>
    <name>HelpPanel</name>
    <message>
        <source>cnndesk &amp;guide</source>
        <translation>cnndesk 指南(&amp;G)</translation>
    </message>
    <message>
        <source>What each view shows, what the colours mean, the shortcuts</source>
        <translation>各视图显示什么、颜色的含义、快捷键</translation>
    </message>
    <message>
        <source>&amp;About cnndesk</source>
        <translation>关于 cnndesk(&amp;A)</translation>
    </message>
    <message>
        <source>Drawing</source>
        <translation>绘图</translation>
    </message>
    <message>
        <source>Draw a digit on the canvas with the mouse (or a pen); the prediction and every view follow while you draw. Undo removes the last stroke, Clear starts again. Open an image of a digit (a photo or a scan), or drop one on the canvas, to read it instead.</source>
        <translation>用鼠标（或手写笔）在画布上画一个数字；预测和所有视图会随着你的绘制实时更新。“撤销”删除上一笔，“清除”重新开始。也可以打开一张数字图像（照片或扫描件），或将其拖到画布上，让模型识别它。</translation>
    </message>
    <message>
        <source>What the model is given</source>
        <translation>模型的输入</translation>
    </message>
    <message>
        <source>The drawing is turned into a 28×28 grey image the way MNIST&apos;s digits were made: the digit is scaled to fit a 20×20 box, placed with its centre of mass in the middle, and its strokes are evened to MNIST&apos;s width. Pixels are between 0 (paper) and 1 (ink), white ink on black as in MNIST; each model then normalises them as it was trained. Under the prediction&apos;s bars, the model&apos;s input shows each of these steps, the last one exactly what the model is given.</source>
        <translation>画作会按 MNIST 数字的制作方式转成 28×28 的灰度图：数字缩放进 20×20 的框，按质心放在正中，笔画粗细调整到与 MNIST 一致。像素值在 0（纸）到 1（墨迹）之间，与 MNIST 一样是黑底白字；每个模型再按训练时的方式对其归一化。预测柱状图下方的“模型输入”显示每一步，最后一步正是模型得到的输入。</translation>
    </message>
    <message>
        <source>Prediction</source>
        <translation>预测</translation>
    </message>
    <message>
        <source>One bar per digit 0–9: the model&apos;s probability for it (softmax of its ten outputs). The highest bar is the prediction, shown with its probability above the bars.</source>
        <translation>每个数字 0–9 一根柱：模型给它的概率（十个输出的 softmax）。最高的柱就是预测，其概率显示在柱的上方。</translation>
    </message>
    <message>
        <source>Every layer</source>
        <translation>所有层</translation>
    </message>
    <message>
        <source>What each layer computes for your digit: one small map per channel (feature map), in the inferno colours — black is low, through red and orange, to pale yellow for the highest value of that layer. Click a cell of a map to see how it was computed: the input patch, the kernel and their products.</source>
        <translation>每一层对你的数字算出的结果：每个通道一张小图（特征图），使用 inferno 配色 — 黑色为低值，经红色、橙色，到淡黄色为该层的最高值。点击图中的单元格可查看其计算过程：输入图块、卷积核及其乘积。</translation>
    </message>
    <message>
        <source>Filters</source>
        <translation>卷积核</translation>
    </message>
    <message>
        <source>The learned convolution kernels. Blue is a negative weight, white zero, red positive: a kernel with red strokes on blue responds to that stroke. During training you can watch them form.</source>
        <translation>学到的卷积核。蓝色为负权重，白色为零，红色为正：蓝底上有红色笔画的卷积核会对该笔画产生响应。训练时可以看着它们逐渐成形。</translation>
    </message>
    <message>
        <source>Why?</source>
        <translation>为什么？</translation>
    </message>
    <message>
        <source>Which pixels made the model choose a class (attributions: saliency, integrated gradients, Grad-CAM). Red raises the class&apos;s score, blue lowers it, white or transparent has no effect.</source>
        <translation>哪些像素让模型选择了某一类（归因：显著图、积分梯度、Grad-CAM）。红色提高该类的得分，蓝色降低得分，白色或透明无影响。</translation>
    </message>
    <message>
        <source>Layer health</source>
        <translation>层健康度</translation>
    </message>
    <message>
        <source>During training: for each layer the size of its weights, of their gradients, the share of dead units and the update ratio; each layer has its colour in the legend above the plots.</source>
        <translation>训练时：每一层权重的大小、梯度的大小、死亡单元的比例和更新比；每层在图上方的图例中有自己的颜色。</translation>
    </message>
    <message>
        <source>Test set</source>
        <translation>测试集</translation>
    </message>
    <message>
        <source>The model on MNIST&apos;s 10,000 test digits: the confusion matrix (light few, dark many, on a log scale so the mistakes show) and the digits it gets wrong; click one to look inside.</source>
        <translation>模型在 MNIST 的 10,000 个测试数字上的表现：混淆矩阵（浅色少，深色多，使用对数刻度以便看清错误）以及它认错的数字；点击其中一个可查看内部。</translation>
    </message>
    <message>
        <source>Summary and Side by side</source>
        <translation>摘要与并排对比</translation>
    </message>
    <message>
        <source>Summary lists the layers with their output shapes and parameters. Side by side pins a model and shows it next to the current one on the same digit (for example a CNN against an MLP).</source>
        <translation>“摘要”列出各层及其输出形状和参数。“并排对比”固定一个模型，并在同一个数字上与当前模型并排显示（例如 CNN 对比 MLP）。</translation>
    </message>
    <message>
        <source>Keeping your own digits</source>
        <translation>保存你自己的数字</translation>
    </message>
    <message>
        <source>With a digit drawn, press its key (0–9) on the canvas: the drawing is kept in My digits as that digit (the status bar says where). My digits shows them with what the model reads; select one there and press Delete to remove it.</source>
        <translation>画好一个数字后，在画布上按下它对应的数字键（0–9）：这幅画会作为该数字保存到“我的数字”（状态栏会显示保存位置）。“我的数字”会显示它们以及模型的识别结果；在那里选中一个并按 Delete 即可删除。</translation>
    </message>
    <message>
        <source>Training, Experiments and My digits</source>
        <translation>训练、实验与我的数字</translation>
    </message>
    <message>
        <source>Training trains the current model on MNIST in the background with live loss and accuracy; stop, pause or resume at any time, and replay how the layers changed. Experiments queues several models or settings and compares them. My digits keeps digits you drew, so you can test or fine-tune on your own hand.</source>
        <translation>“训练”在后台用 MNIST 训练当前模型，实时显示损失和准确率；可随时停止、暂停或继续，并回放各层的变化。“实验”将多个模型或设置排队并对比。“我的数字”保存你画的数字，可用你自己的笔迹测试或微调模型。</translation>
    </message>
    <message>
        <source>Keyboard shortcuts</source>
        <translation>键盘快捷键</translation>
    </message>
    <message>
        <source>Keys</source>
        <translation>按键</translation>
    </message>
    <message>
        <source>Action</source>
        <translation>操作</translation>
    </message>
    <message>
        <source>Menu</source>
        <translation>菜单</translation>
    </message>
    <message>
        <source>cnndesk guide</source>
        <translation>cnndesk 指南</translation>
    </message>
    <message>
        <source>predicting on the CPU; training can use: {devices}</source>
        <translation>预测使用 CPU；训练可用：{devices}</translation>
    </message>
    <message>
        <source>Version</source>
        <translation>版本</translation>
    </message>
    <message>
        <source>PyTorch</source>
        <translation>PyTorch</translation>
    </message>
    <message>
        <source>loading…</source>
        <translation>加载中…</translation>
    </message>
    <message>
        <source>Qt</source>
        <translation>Qt</translation>
    </message>
    <message>
        <source>Python</source>
        <translation>Python</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>设备</translation>
    </message>
    <message>
        <source>Draw a digit, see inside a convolutional network, train it live.</source>
        <translation>画一个数字，看清卷积神经网络的内部，并实时训练它。</translation>
    </message>
    <message>
        <source>About cnndesk</source>
        <translation>关于 cnndesk</translation>
    </message>
</context>
<context>
    <name>InputScaleDialog</name>
    <message>
        <source>Open a model from elsewhere</source>
        <translation>打开其他来源的模型</translation>
    </message>
    <message>
        <source>On which pixels was {file} trained? The file does not say.</source>
        <translation>{file} 训练时输入的像素是哪种？文件中没有记录。</translation>
    </message>
    <message>
        <source>Pixels in [0, 1]: transforms.ToTensor() alone</source>
        <translation>像素在 [0, 1]：只用了 transforms.ToTensor()</translation>
    </message>
    <message>
        <source>MNIST-normalized: ToTensor(), then Normalize((0.1307,), (0.3081,))</source>
        <translation>MNIST 归一化：ToTensor() 之后再 Normalize((0.1307,), (0.3081,))</translation>
    </message>
    <message>
        <source>cnndesk then matches its tensors to an architecture and tries each activation and pooling on 1,000 MNIST test images; an ONNX file that fits none runs in onnxruntime.</source>
        <translation>cnndesk 随后按张量匹配网络结构，并在 1,000 张 MNIST 测试图像上逐一尝试各种激活函数和池化方式；不符合任何结构的 ONNX 文件将在 onnxruntime 中运行。</translation>
    </message>
</context>
<context>
    <name>InputView</name>
    <message>
        <source>strokes</source>
        <translation>笔画</translation>
    </message>
    <message>
        <source>20 px box</source>
        <translation>20 px 框</translation>
    </message>
    <message>
        <source>input 28×28</source>
        <translation>输入 28×28</translation>
    </message>
    <message>
        <source>What the model sees: your strokes drawn again at a width that suits the digit&apos;s size, cropped to the ink, fitted in a 20 px box, centred by mass in 28×28 — as MNIST was made</source>
        <translation>模型看到的内容：按适合数字大小的粗细重绘你的笔画，裁剪到墨迹，缩放进 20 px 的框，按质心居中于 28×28 — 与 MNIST 的制作方式相同</translation>
    </message>
</context>
<context>
    <name>LanguagePanel</name>
    <message>
        <source>&amp;Language</source>
        <translation>语言(&amp;L)</translation>
    </message>
    <message>
        <source>System</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <source>The language of the system ({language})</source>
        <translation>系统语言（{language}）</translation>
    </message>
    <message>
        <source>English</source>
        <translation>English</translation>
    </message>
    <message>
        <source>中文 (简体)</source>
        <translation>中文 (简体)</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <source>cnndesk will be in {language} the next time it starts. Restart now?</source>
        <translation>下次启动时 cnndesk 将使用 {language}。现在重新启动吗？</translation>
    </message>
    <message>
        <source>Restart</source>
        <translation>重新启动</translation>
    </message>
    <message>
        <source>Later</source>
        <translation>稍后</translation>
    </message>
</context>
<context>
    <name>LayersPanel</name>
    <message>
        <source>Point at a map to read a value. This model runs in onnxruntime: without its kernels cnndesk cannot show how a cell was computed.</source>
        <translation>指向特征图即可读取数值。此模型在 onnxruntime 中运行：没有它的卷积核，cnndesk 无法显示某个单元是如何计算出来的。</translation>
    </message>
    <message>
        <source>Point at a map to read a value; click a cell to see how it was computed.</source>
        <translation>指向特征图可读取数值；点击单元格查看其计算过程。</translation>
    </message>
    <message>
        <source>Every layer</source>
        <translation>所有层</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Edit</source>
        <translation>编辑(&amp;E)</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <source>&amp;Training</source>
        <translation>训练(&amp;T)</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <source>Loading PyTorch…</source>
        <translation>正在加载 PyTorch…</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <source>{error} Starting with an untrained LeNet5: train it below.</source>
        <translation>{error} 将从未训练的 LeNet5 开始：请在下方训练它。</translation>
    </message>
    <message>
        <source>cnndesk could not load PyTorch, so it cannot predict or train: {error}</source>
        <translation>cnndesk 无法加载 PyTorch，因此无法预测或训练：{error}</translation>
    </message>
    <message>
        <source>unknown error</source>
        <translation>未知错误</translation>
    </message>
    <message>
        <source>Background task failed: {error}</source>
        <translation>后台任务失败：{error}</translation>
    </message>
    <message>
        <source>cnndesk cannot write to its data folder {folder} ({problem}): runs cannot be saved there, nor digits kept; drawing and predicting work. Set CNNDESK_DATA_DIR to a writable folder.</source>
        <translation>cnndesk 无法写入其数据文件夹 {folder}（{problem}）：训练结果和你的数字都无法保存；绘图和预测仍可使用。请将 CNNDESK_DATA_DIR 设为可写的文件夹。</translation>
    </message>
    <message>
        <source>bundled</source>
        <translation>内置</translation>
    </message>
    <message>
        <source>untrained</source>
        <translation>未训练</translation>
    </message>
    <message>
        <source>, {accuracy} test accuracy</source>
        <translation>，测试集准确率 {accuracy}</translation>
    </message>
    <message>
        <source>Model: {name} ({where}{score})</source>
        <translation>模型：{name}（{where}{score}）</translation>
    </message>
</context>
<context>
    <name>ModelColumn</name>
    <message>
        <source>Each digit&apos;s probability for this model</source>
        <translation>该模型给出的每个数字的概率</translation>
    </message>
    <message>
        <source>The layer whose output is shown below</source>
        <translation>下方显示其输出的层</translation>
    </message>
</context>
<context>
    <name>ModelFilesPanel</name>
    <message>
        <source>cnndesk checkpoints (*.safetensors)</source>
        <translation>cnndesk 检查点 (*.safetensors)</translation>
    </message>
    <message>
        <source>Models (*.safetensors *.pth *.pt *.onnx)</source>
        <translation>模型 (*.safetensors *.pth *.pt *.onnx)</translation>
    </message>
    <message>
        <source>PyTorch state_dicts, torch.save (*.pth *.pt)</source>
        <translation>PyTorch state_dict，torch.save 保存 (*.pth *.pt)</translation>
    </message>
    <message>
        <source>ONNX models (*.onnx)</source>
        <translation>ONNX 模型 (*.onnx)</translation>
    </message>
    <message>
        <source>ONNX, for onnxruntime and Netron (*.onnx)</source>
        <translation>ONNX，用于 onnxruntime 和 Netron (*.onnx)</translation>
    </message>
    <message>
        <source>TorchScript, for torch.jit.load (*.pt)</source>
        <translation>TorchScript，用于 torch.jit.load (*.pt)</translation>
    </message>
    <message>
        <source>&amp;Open model…</source>
        <translation>打开模型(&amp;O)…</translation>
    </message>
    <message>
        <source>Open a cnndesk checkpoint, or a PyTorch (.pth, .pt) or ONNX model trained elsewhere</source>
        <translation>打开 cnndesk 检查点，或在别处训练的 PyTorch (.pth, .pt) 或 ONNX 模型</translation>
    </message>
    <message>
        <source>Open &amp;bundled model</source>
        <translation>打开内置模型(&amp;B)</translation>
    </message>
    <message>
        <source>&amp;Save model</source>
        <translation>保存模型(&amp;S)</translation>
    </message>
    <message>
        <source>Save the current model</source>
        <translation>保存当前模型</translation>
    </message>
    <message>
        <source>Save model &amp;as…</source>
        <translation>模型另存为(&amp;A)…</translation>
    </message>
    <message>
        <source>E&amp;xport model…</source>
        <translation>导出模型(&amp;X)…</translation>
    </message>
    <message>
        <source>Write the current model as ONNX or TorchScript, checked on the MNIST test set</source>
        <translation>将当前模型导出为 ONNX 或 TorchScript，并在 MNIST 测试集上核验</translation>
    </message>
    <message>
        <source>Opened {file}</source>
        <translation>已打开 {file}</translation>
    </message>
    <message>
        <source>Opening {file}…</source>
        <translation>正在打开 {file}…</translation>
    </message>
    <message>
        <source>Nothing opened.</source>
        <translation>未打开任何文件。</translation>
    </message>
    <message>
        <source>Opening {file}: matching it to an architecture…</source>
        <translation>正在打开 {file}：匹配网络结构…</translation>
    </message>
    <message>
        <source>Opened {file}: it fits no cnndesk architecture, so it runs in onnxruntime ({accuracy} on the first {images} MNIST test images); without PyTorch weights it cannot be trained, saved, exported or explained with gradients</source>
        <translation>已打开 {file}：它不符合 cnndesk 的任何架构，因此在 onnxruntime 中运行（在前 {images} 张 MNIST 测试图像上为 {accuracy}）；没有 PyTorch 权重，它无法被训练、保存、导出或用梯度解释</translation>
    </message>
    <message>
        <source>Opened {file} as {architecture} ({activation}, {pooling} pooling): {accuracy} on the first {images} MNIST test images</source>
        <translation>已将 {file} 作为 {architecture}（{activation}，{pooling} 池化）打开：前 {images} 张 MNIST 测试图像准确率 {accuracy}</translation>
    </message>
    <message>
        <source>Open model</source>
        <translation>打开模型</translation>
    </message>
    <message>
        <source>{name} runs in onnxruntime: it has no PyTorch weights to save as a cnndesk checkpoint or to export (the .onnx file is the model).</source>
        <translation>{name} 在 onnxruntime 中运行：它没有可保存为 cnndesk 检查点或可导出的 PyTorch 权重（.onnx 文件本身就是模型）。</translation>
    </message>
    <message>
        <source>Saved {path}: the final weights and their history, not the replay&apos;s step (Latest shows what was saved)</source>
        <translation>已保存 {path}：最终权重及其历史，而非回放中的那一步（“最新”显示所保存的内容）</translation>
    </message>
    <message>
        <source>Saved {path}</source>
        <translation>已保存 {path}</translation>
    </message>
    <message>
        <source>Save model as</source>
        <translation>模型另存为</translation>
    </message>
    <message>
        <source>Export model</source>
        <translation>导出模型</translation>
    </message>
    <message>
        <source>Exporting {name} to {path}…</source>
        <translation>正在将 {name} 导出到 {path}…</translation>
    </message>
    <message>
        <source>{path} was written, but it does not compute what the model computes: {same} of {images} test images predicted alike, largest logit difference {diff:.1e}.</source>
        <translation>{path} 已写入，但其计算结果与模型不同：{images} 张测试图像中只有 {same} 张预测一致，最大 logit 差 {diff:.1e}。</translation>
    </message>
    <message>
        <source>Exported {path}: {runtime} predicts all {images} MNIST test images as the model does (largest logit difference {diff:.1e})</source>
        <translation>已导出 {path}：{runtime} 对全部 {images} 张 MNIST 测试图像的预测与模型一致（最大 logit 差 {diff:.1e}）</translation>
    </message>
    <message>
        <source>Export failed: {error}</source>
        <translation>导出失败：{error}</translation>
    </message>
</context>
<context>
    <name>ModelSpec</name>
    <message>
        <source>does not take this option</source>
        <translation>不支持此选项</translation>
    </message>
    <message>
        <source>has no fully connected layer to drop out in front of</source>
        <translation>没有可在其前面加 Dropout 的全连接层</translation>
    </message>
    <message>
        <source>downsamples with strided convolutions, not pooling layers</source>
        <translation>用带步长的卷积下采样，而不是池化层</translation>
    </message>
    <message>
        <source>always has BatchNorm, in every residual block</source>
        <translation>每个残差块中始终带有批归一化</translation>
    </message>
    <message>
        <source>has no convolutions, so no pooling layers</source>
        <translation>没有卷积，因此没有池化层</translation>
    </message>
</context>
<context>
    <name>MyDigitsTab</name>
    <message>
        <source>My digits</source>
        <translation>我的数字</translation>
    </message>
    <message>
        <source>Keep the drawing as a</source>
        <translation>将画作保存为</translation>
    </message>
    <message>
        <source>Keep the drawing on the canvas as a {digit} (or press {digit} on the canvas)</source>
        <translation>将画布上的画作保存为 {digit}（或在画布上按 {digit} 键）</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <source>Delete the selected digits (Delete)</source>
        <translation>删除所选数字 (Delete)</translation>
    </message>
    <message>
        <source>Import…</source>
        <translation>导入…</translation>
    </message>
    <message>
        <source>Copy the digits of a folder laid out as FOLDER/0/*.png … FOLDER/9/*.png into yours (unreadable files are skipped)</source>
        <translation>将按 FOLDER/0/*.png … FOLDER/9/*.png 组织的文件夹中的数字复制到你的数字中（跳过无法读取的文件）</translation>
    </message>
    <message>
        <source>Export…</source>
        <translation>导出…</translation>
    </message>
    <message>
        <source>Fine-tune</source>
        <translation>微调</translation>
    </message>
    <message>
        <source>Draw a digit first, then keep it with its label.</source>
        <translation>请先画一个数字，再连同标签保存。</translation>
    </message>
    <message>
        <source>This drawing is kept already, as a {digit}.</source>
        <translation>这幅画已保存为 {digit}。</translation>
    </message>
    <message>
        <source>Kept as a {digit} instead of a {before}: {path}</source>
        <translation>已改存为 {digit}（原为 {before}）：{path}</translation>
    </message>
    <message>
        <source>Kept as a {digit}: {path}</source>
        <translation>已保存为 {digit}：{path}</translation>
    </message>
    <message>
        <source>A {label}, read as {guess}: {path}</source>
        <translation>标签 {label}，识别为 {guess}：{path}</translation>
    </message>
    <message>
        <source>No digits of your own yet: draw one, then keep it with its label (a button above, or its key on the canvas). They are kept in {folder}.</source>
        <translation>还没有你自己的数字：画一个，然后连同标签保存（用上方的按钮，或在画布上按对应数字键）。它们保存在 {folder}。</translation>
    </message>
    <message>
        <source>The model reads {accuracy:.1%} of your one digit</source>
        <translation>模型认对了你那 1 个数字中的 {accuracy:.1%}</translation>
    </message>
    <message>
        <source>The model reads {accuracy:.1%} of your {count} digits</source>
        <translation>模型认对了你的 {count} 个数字中的 {accuracy:.1%}</translation>
    </message>
    <message>
        <source> at step {step}, and {mnist:.1%} of MNIST&apos;s first {images} test digits</source>
        <translation>（第 {step} 步），以及 MNIST 前 {images} 个测试数字中的 {mnist:.1%}</translation>
    </message>
    <message>
        <source> and {mnist:.2%} of MNIST&apos;s test digits</source>
        <translation>，以及 MNIST 测试数字中的 {mnist:.2%}</translation>
    </message>
    <message>
        <source>{count} files could not be read: {first}</source>
        <translation>{count} 个文件无法读取：{first}</translation>
    </message>
    <message>
        <source>Keep at least {least} digits to fine-tune on (you have {count}).</source>
        <translation>至少需要保存 {least} 个数字才能微调（你现有 {count} 个）。</translation>
    </message>
    <message>
        <source>A run is in progress: fine-tune once it has ended.</source>
        <translation>正在训练：请在其结束后再微调。</translation>
    </message>
    <message>
        <source>Busy with your digits: wait a moment.</source>
        <translation>正在处理你的数字：请稍候。</translation>
    </message>
    <message>
        <source>Fine-tuning starts from a saved model: open or train one first.</source>
        <translation>微调需从已保存的模型开始：请先打开或训练一个模型。</translation>
    </message>
    <message>
        <source>This model runs in onnxruntime: it has no PyTorch weights to fine-tune. Open or train a cnndesk model first.</source>
        <translation>此模型在 onnxruntime 中运行：它没有可微调的 PyTorch 权重。请先打开或训练一个 cnndesk 模型。</translation>
    </message>
    <message>
        <source>Train the current model a few seconds more on your {count} digits mixed with MNIST, from its weights at a low learning rate; the run is saved as a new checkpoint, the current one stays as it is</source>
        <translation>用你的 {count} 个数字混合 MNIST，以较低的学习率从当前权重再训练几秒；结果保存为新的检查点，当前模型保持不变</translation>
    </message>
    <message>
        <source>Copy your digits into a folder, laid out as FOLDER/0/*.png … FOLDER/9/*.png: a dataset for cnndesk train --dataset folder:FOLDER</source>
        <translation>将你的数字复制到文件夹，按 FOLDER/0/*.png … FOLDER/9/*.png 组织：可作为 cnndesk train --dataset folder:FOLDER 的数据集</translation>
    </message>
    <message>
        <source>Measuring the model on your digits and on MNIST before fine-tuning…</source>
        <translation>微调前，正在用你的数字和 MNIST 测量模型…</translation>
    </message>
    <message>
        <source>Fine-tuning did not start: another run began meanwhile.</source>
        <translation>微调未开始：期间另一次训练已经开始。</translation>
    </message>
    <message>
        <source>Fine-tuning {model} on your {count} digits mixed with MNIST: its curves are in the Training tab, and the gallery follows its weights.</source>
        <translation>正在用你的 {count} 个数字混合 MNIST 微调 {model}：曲线见“训练”页，数字库随其权重更新。</translation>
    </message>
    <message>
        <source>Fine-tuned on your {count} digits and MNIST in {seconds:.0f} s: your digits {mine_before:.1%} → {mine_after:.1%}, MNIST test {mnist_before:.2%} → {mnist_after:.2%}. It trained on these digits: draw new ones to see whether it learnt your hand. Saved as {file}; the model it started from is unchanged.</source>
        <translation>已用你的 {count} 个数字和 MNIST 微调 {seconds:.0f} 秒：你的数字 {mine_before:.1%} → {mine_after:.1%}，MNIST 测试集 {mnist_before:.2%} → {mnist_after:.2%}。它是在这些数字上训练的：画些新的，看看它是否学会了你的笔迹。已保存为 {file}；起始模型保持不变。</translation>
    </message>
    <message>
        <source>Import digits from a folder</source>
        <translation>从文件夹导入数字</translation>
    </message>
    <message>
        <source>Export your digits to a folder</source>
        <translation>将你的数字导出到文件夹</translation>
    </message>
    <message>
        <source>Importing the digits of {folder}…</source>
        <translation>正在导入 {folder} 中的数字…</translation>
    </message>
    <message>
        <source>Imported {copied} digits from {folder}.</source>
        <translation>已从 {folder} 导入 {copied} 个数字。</translation>
    </message>
    <message>
        <source>One was yours already.</source>
        <translation>其中 1 个已存在。</translation>
    </message>
    <message>
        <source>{count} were yours already.</source>
        <translation>其中 {count} 个已存在。</translation>
    </message>
    <message>
        <source>{count} files could not be read and were skipped; the first: {first}</source>
        <translation>{count} 个文件无法读取，已跳过；第一个：{first}</translation>
    </message>
    <message>
        <source>Exporting your digits to {folder}…</source>
        <translation>正在将你的数字导出到 {folder}…</translation>
    </message>
    <message>
        <source>Exported {copied} digits to {folder}: a dataset for cnndesk train --dataset folder:{folder}.</source>
        <translation>已将 {copied} 个数字导出到 {folder}：可作为 cnndesk train --dataset folder:{folder} 的数据集。</translation>
    </message>
    <message>
        <source>One was there already (the same image).</source>
        <translation>其中 1 个已存在（相同图像）。</translation>
    </message>
    <message>
        <source>{count} were there already (the same images).</source>
        <translation>其中 {count} 个已存在（相同图像）。</translation>
    </message>
</context>
<context>
    <name>PredictionLabel</name>
    <message>
        <source>Draw a digit</source>
        <translation>画一个数字</translation>
    </message>
</context>
<context>
    <name>PredictionPanel</name>
    <message>
        <source>Loading…</source>
        <translation>加载中…</translation>
    </message>
    <message>
        <source>No model</source>
        <translation>无模型</translation>
    </message>
</context>
<context>
    <name>PresentationPanel</name>
    <message>
        <source>&amp;Presentation mode</source>
        <translation>演示模式(&amp;P)</translation>
    </message>
    <message>
        <source>Full screen with larger text, maps and lines for a projector (F11 or Esc leaves it)</source>
        <translation>全屏显示，放大文字、特征图和线条，适合投影 (F11 或 Esc 退出)</translation>
    </message>
    <message>
        <source>Leave presentation mode</source>
        <translation>退出演示模式</translation>
    </message>
    <message>
        <source>Presentation &amp;zoom</source>
        <translation>演示缩放(&amp;Z)</translation>
    </message>
    <message>
        <source>&amp;Theme</source>
        <translation>主题(&amp;T)</translation>
    </message>
    <message>
        <source>Follow the &amp;system</source>
        <translation>跟随系统(&amp;S)</translation>
    </message>
    <message>
        <source>&amp;Light</source>
        <translation>浅色(&amp;L)</translation>
    </message>
    <message>
        <source>&amp;Dark</source>
        <translation>深色(&amp;D)</translation>
    </message>
    <message>
        <source>Presentation at ×{shown}: ×{chosen} needs a screen taller than {height} px. F11 or Esc leaves it.</source>
        <translation>演示模式 ×{shown}：×{chosen} 需要高于 {height} 像素的屏幕。按 F11 或 Esc 退出。</translation>
    </message>
    <message>
        <source>Presentation mode: F11 or Esc leaves it; double-click a map to enlarge it.</source>
        <translation>演示模式：按 F11 或 Esc 退出；双击特征图可放大。</translation>
    </message>
    <message>
        <source>Presentation mode: the bottom tabs are hidden, there is no room for them at this zoom; a lower zoom brings them back.</source>
        <translation>演示模式：此缩放下没有空间，底部标签页已隐藏；降低缩放即可恢复。</translation>
    </message>
</context>
<context>
    <name>ProbabilityBars</name>
    <message>
        <source>probability</source>
        <translation>概率</translation>
    </message>
</context>
<context>
    <name>ReplayPanel</name>
    <message>
        <source>&amp;Replay the training</source>
        <translation>回放训练过程(&amp;R)</translation>
    </message>
    <message>
        <source>Play the model&apos;s training from its first step</source>
        <translation>从第一步开始播放模型的训练过程</translation>
    </message>
    <message>
        <source>Earlier snapshot</source>
        <translation>上一个快照</translation>
    </message>
    <message>
        <source>Later snapshot</source>
        <translation>下一个快照</translation>
    </message>
    <message>
        <source>Latest weights</source>
        <translation>最新权重</translation>
    </message>
    <message>
        <source>Replay</source>
        <translation>回放</translation>
    </message>
    <message>
        <source>Play the training from its first snapshot (Ctrl+Shift+R)</source>
        <translation>从第一个快照开始播放训练过程 (Ctrl+Shift+R)</translation>
    </message>
    <message>
        <source>The model as it was during its training: drag to any snapshot (Ctrl+Shift+Left/Right); the right end is its final weights</source>
        <translation>训练过程中的模型：拖到任一快照 (Ctrl+Shift+Left/Right)；最右端是最终权重</translation>
    </message>
    <message>
        <source>Latest</source>
        <translation>最新</translation>
    </message>
    <message>
        <source>Back to the model&apos;s own, latest weights (Ctrl+Shift+End)</source>
        <translation>回到模型自身的最新权重 (Ctrl+Shift+End)</translation>
    </message>
    <message>
        <source>latest weights</source>
        <translation>最新权重</translation>
    </message>
    <message>
        <source>final weights</source>
        <translation>最终权重</translation>
    </message>
    <message>
        <source>{count} snapshots kept of this training</source>
        <translation>本次训练保存了 {count} 个快照</translation>
    </message>
    <message>
        <source>step {step} · epoch {epoch}</source>
        <translation>第 {step} 步 · 第 {epoch} 轮</translation>
    </message>
    <message>
        <source>Snapshot {index} of {count}; accuracy on the first {images} test images</source>
        <translation>快照 {index}/{count}；前 {images} 张测试图像上的准确率</translation>
    </message>
</context>
<context>
    <name>RestoreBar</name>
    <message>
        <source>Resume training</source>
        <translation>继续训练</translation>
    </message>
    <message>
        <source>Open the model</source>
        <translation>打开该模型</translation>
    </message>
    <message>
        <source>Discard</source>
        <translation>丢弃</translation>
    </message>
    <message>
        <source>Forget the interrupted run; its checkpoint stays in the checkpoints folder</source>
        <translation>忽略中断的训练；其检查点仍保留在检查点文件夹中</translation>
    </message>
</context>
<context>
    <name>RestorePanel</name>
    <message>
        <source>cnndesk closed while training {model}; {problem}.</source>
        <translation>cnndesk 在训练 {model} 时关闭；{problem}。</translation>
    </message>
    <message>
        <source>cnndesk closed while training {model}, after its last epoch ({done} of {epochs} saved {when}).</source>
        <translation>cnndesk 在训练 {model} 的最后一轮之后关闭（{done}/{epochs} 轮，保存于 {when}）。</translation>
    </message>
    <message>
        <source>cnndesk closed while training {model} (epoch {done} of {epochs} saved {when}). Restore it?</source>
        <translation>cnndesk 在训练 {model} 时关闭（第 {done}/{epochs} 轮，保存于 {when}）。要恢复吗？</translation>
    </message>
    <message>
        <source>A run is in progress: stop it before resuming another.</source>
        <translation>正在训练：请先停止它，再继续另一次训练。</translation>
    </message>
    <message>
        <source>at {time}</source>
        <translation>今天 {time}</translation>
    </message>
    <message>
        <source>on {day} {month} at {time}</source>
        <translation>{month} {day} 日 {time}</translation>
    </message>
</context>
<context>
    <name>ResultsModel</name>
    <message>
        <source>#</source>
        <translation>#</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Options</source>
        <translation>选项</translation>
    </message>
    <message>
        <source>Epochs</source>
        <translation>轮次</translation>
    </message>
    <message>
        <source>Train acc</source>
        <translation>训练准确率</translation>
    </message>
    <message>
        <source>Test acc</source>
        <translation>测试准确率</translation>
    </message>
    <message>
        <source>Seconds</source>
        <translation>秒</translation>
    </message>
    <message>
        <source>Params</source>
        <translation>参数量</translation>
    </message>
    <message>
        <source>{done} of {epochs}, stopped</source>
        <translation>{done}/{epochs}，已停止</translation>
    </message>
</context>
<context>
    <name>ResumeDialog</name>
    <message>
        <source>cnndesk checkpoints (*.safetensors)</source>
        <translation>cnndesk 检查点 (*.safetensors)</translation>
    </message>
    <message>
        <source>Resume a run</source>
        <translation>继续一次训练</translation>
    </message>
    <message>
        <source>Runs saved in {folder}, newest first. A run continues where its last whole epoch ended, with its own settings.</source>
        <translation>保存在 {folder} 中的训练，最新的在前。训练会按原有设置，从最后一个完整轮次结束处继续。</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Epochs</source>
        <translation>轮次</translation>
    </message>
    <message>
        <source>Test accuracy</source>
        <translation>测试集准确率</translation>
    </message>
    <message>
        <source>Saved</source>
        <translation>保存时间</translation>
    </message>
    <message>
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <source>No run to resume in this folder: runs are saved here as they train.</source>
        <translation>此文件夹中没有可继续的训练：训练时会保存到这里。</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>继续</translation>
    </message>
    <message>
        <source>Other file…</source>
        <translation>其他文件…</translation>
    </message>
    <message>
        <source>{done} of {total}</source>
        <translation>{done}/{total}</translation>
    </message>
    <message>
        <source>This run finished all its epochs: open it as the model instead.</source>
        <translation>这次训练已完成所有轮次：请改为将其作为模型打开。</translation>
    </message>
    <message>
        <source>Resume training</source>
        <translation>继续训练</translation>
    </message>
</context>
<context>
    <name>SideBySidePanel</name>
    <message>
        <source>&amp;Pin current model</source>
        <translation>固定当前模型(&amp;P)</translation>
    </message>
    <message>
        <source>Keep the current model beside the next one, to compare both</source>
        <translation>将当前模型保留在下一个模型旁边，以便对比两者</translation>
    </message>
    <message>
        <source>U&amp;npin model</source>
        <translation>取消固定模型(&amp;N)</translation>
    </message>
    <message>
        <source>Compare CNN &amp;vs MLP</source>
        <translation>对比 CNN 与 MLP(&amp;V)</translation>
    </message>
    <message>
        <source>Pin the bundled LeNet5 beside the bundled MLP and move the digit</source>
        <translation>将内置 LeNet5 固定在内置 MLP 旁边，并移动数字</translation>
    </message>
    <message>
        <source>loading…</source>
        <translation>加载中…</translation>
    </message>
    <message>
        <source>Loading PyTorch…</source>
        <translation>正在加载 PyTorch…</translation>
    </message>
    <message>
        <source>Side by side</source>
        <translation>并排对比</translation>
    </message>
    <message>
        <source>Pinned {model}: open or train another model to compare them.</source>
        <translation>已固定 {model}：打开或训练另一个模型来对比。</translation>
    </message>
    <message>
        <source>The CNN&apos;s filters slide over the image and find the moved strokes; the MLP&apos;s weights are tied to pixel positions.</source>
        <translation>CNN 的卷积核在图像上滑动，能找到移动后的笔画；MLP 的权重与像素位置绑定。</translation>
    </message>
    <message>
        <source>bundled</source>
        <translation>内置</translation>
    </message>
    <message>
        <source>untrained</source>
        <translation>未训练</translation>
    </message>
    <message>
        <source>no model</source>
        <translation>无模型</translation>
    </message>
    <message>
        <source>Pin a model to compare it with another: “Pin current model” keeps it here while you open or train another. “CNN vs MLP” pins the bundled LeNet5 beside the MLP.</source>
        <translation>固定一个模型以与另一个对比：“固定当前模型”把它留在这里，同时你可以打开或训练另一个。“CNN 对比 MLP”将内置 LeNet5 固定在 MLP 旁边。</translation>
    </message>
    <message>
        <source>{model} (training)</source>
        <translation>{model}（训练中）</translation>
    </message>
</context>
<context>
    <name>SideBySideView</name>
    <message>
        <source>Pin current model</source>
        <translation>固定当前模型</translation>
    </message>
    <message>
        <source>Keep the current model in the left column; then open or train another</source>
        <translation>将当前模型保留在左栏；然后打开或训练另一个</translation>
    </message>
    <message>
        <source>Unpin</source>
        <translation>取消固定</translation>
    </message>
    <message>
        <source>CNN vs MLP</source>
        <translation>CNN 对比 MLP</translation>
    </message>
    <message>
        <source>Pin the bundled LeNet5, make the bundled MLP current and move the digit: the CNN still reads it, the MLP does not</source>
        <translation>固定内置 LeNet5，将内置 MLP 设为当前模型并移动数字：CNN 仍能认出，MLP 则不能</translation>
    </message>
    <message>
        <source>Pinned:</source>
        <translation>已固定：</translation>
    </message>
    <message>
        <source>Current:</source>
        <translation>当前：</translation>
    </message>
    <message>
        <source>Move the model input right (negative: left)</source>
        <translation>将模型输入右移（负数：左移）</translation>
    </message>
    <message>
        <source>Move the model input down (negative: up)</source>
        <translation>将模型输入下移（负数：上移）</translation>
    </message>
    <message>
        <source>Centre</source>
        <translation>居中</translation>
    </message>
    <message>
        <source>Put the digit back where the preprocessing centred it</source>
        <translation>将数字放回预处理居中的位置</translation>
    </message>
    <message>
        <source>The 28×28 input both models see</source>
        <translation>两个模型看到的 28×28 输入</translation>
    </message>
    <message>
        <source>Move the digit:</source>
        <translation>移动数字：</translation>
    </message>
    <message>
        <source>right</source>
        <translation>右</translation>
    </message>
    <message>
        <source>down</source>
        <translation>下</translation>
    </message>
    <message>
        <source> px</source>
        <translation> px</translation>
    </message>
</context>
<context>
    <name>SummaryPanel</name>
    <message>
        <source>Summary</source>
        <translation>摘要</translation>
    </message>
    <message>
        <source>in the ONNX graph: not counted here</source>
        <translation>在 ONNX 图中：此处不计算</translation>
    </message>
</context>
<context>
    <name>SummaryView</name>
    <message>
        <source>Layer</source>
        <translation>层</translation>
    </message>
    <message>
        <source>Type</source>
        <translation>类型</translation>
    </message>
    <message>
        <source>Output</source>
        <translation>输出</translation>
    </message>
    <message>
        <source>Parameters</source>
        <translation>参数</translation>
    </message>
    <message>
        <source>Mult-adds</source>
        <translation>乘加数</translation>
    </message>
    <message>
        <source>O = (W − K + 2P) / S + 1</source>
        <translation>O = (W − K + 2P) / S + 1</translation>
    </message>
    <message>
        <source>Receptive field</source>
        <translation>感受野</translation>
    </message>
    <message>
        <source>total</source>
        <translation>总计</translation>
    </message>
</context>
<context>
    <name>TestBrowser</name>
    <message>
        <source>any</source>
        <translation>任意</translation>
    </message>
    <message>
        <source>Mistakes only</source>
        <translation>仅错误</translation>
    </message>
    <message>
        <source>in test-set order</source>
        <translation>按测试集顺序</translation>
    </message>
    <message>
        <source>most confident first</source>
        <translation>置信度高的在前</translation>
    </message>
    <message>
        <source>least confident first</source>
        <translation>置信度低的在前</translation>
    </message>
    <message>
        <source>highest loss first</source>
        <translation>损失高的在前</translation>
    </message>
    <message>
        <source>True</source>
        <translation>真实</translation>
    </message>
    <message>
        <source>predicted</source>
        <translation>预测</translation>
    </message>
    <message>
        <source>Evaluate the model first: then the predictions are known</source>
        <translation>请先评估模型：之后才知道预测结果</translation>
    </message>
    <message>
        <source>{count} / {total}</source>
        <translation>{count} / {total}</translation>
    </message>
    <message>
        <source>{count} of the {total} test images</source>
        <translation>{total} 张测试图像中的 {count} 张</translation>
    </message>
</context>
<context>
    <name>TestImages</name>
    <message>
        <source>Test image {index}: a {label}</source>
        <translation>测试图像 {index}：{label}</translation>
    </message>
    <message>
        <source>Test image {index}: a {label}, predicted {predicted} ({confidence:.1%})</source>
        <translation>测试图像 {index}：{label}，预测为 {predicted}（{confidence:.1%}）</translation>
    </message>
</context>
<context>
    <name>TestSetPanel</name>
    <message>
        <source>Evaluate</source>
        <translation>评估</translation>
    </message>
    <message>
        <source>Test the model shown on the 10,000 MNIST test images (Ctrl+Shift+E)</source>
        <translation>在 10,000 张 MNIST 测试图像上测试当前模型 (Ctrl+Shift+E)</translation>
    </message>
    <message>
        <source>&amp;Evaluate on the test set</source>
        <translation>在测试集上评估(&amp;E)</translation>
    </message>
    <message>
        <source>Test accuracy, per class, and the confusion matrix</source>
        <translation>测试集准确率、各类别准确率和混淆矩阵</translation>
    </message>
    <message>
        <source>Test set</source>
        <translation>测试集</translation>
    </message>
    <message>
        <source>Testing on 10,000 images…</source>
        <translation>正在 10,000 张图像上测试…</translation>
    </message>
    <message>
        <source>At step {step} (epoch {epoch}): {accuracy} on the first {images} test images, as measured during training. Evaluate tests all 10,000.</source>
        <translation>第 {step} 步（第 {epoch} 轮）：训练中在前 {images} 张测试图像上测得 {accuracy}。“评估”会测试全部 10,000 张。</translation>
    </message>
    <message>
        <source>Not evaluated yet: Evaluate tests the model shown.</source>
        <translation>尚未评估：“评估”会测试当前模型。</translation>
    </message>
    <message>
        <source>Test accuracy {accuracy:.2%} · {wrong} mistakes · weakest digit {digit} ({digit_accuracy:.1%}). Click a cell to see its images.</source>
        <translation>测试集准确率 {accuracy:.2%} · {wrong} 个错误 · 最弱的数字 {digit}（{digit_accuracy:.1%}）。点击单元格查看其图像。</translation>
    </message>
    <message>
        <source>Evaluate to see the images of a cell (the replay&apos;s matrix has counts only).</source>
        <translation>评估后才能查看单元格的图像（回放的矩阵只有计数）。</translation>
    </message>
</context>
<context>
    <name>TrainingPanel</name>
    <message>
        <source>The non-linearity after each hidden layer</source>
        <translation>每个隐藏层之后的非线性激活函数</translation>
    </message>
    <message>
        <source>How each pooling layer shrinks its maps: the largest value (max) or the mean (average)</source>
        <translation>池化层如何缩小特征图：取最大值（最大）或平均值（平均）</translation>
    </message>
    <message>
        <source>BatchNorm between each hidden conv/fc layer and its activation</source>
        <translation>在每个隐藏的卷积/全连接层与其激活函数之间加批归一化</translation>
    </message>
    <message>
        <source>Dropout in front of the last fully connected layer: the fraction of its inputs zeroed at random while training</source>
        <translation>最后一个全连接层前的 Dropout：训练时随机置零的输入比例</translation>
    </message>
    <message>
        <source>Width multiplier: scales every layer&apos;s channels and hidden units (the 10 outputs stay)</source>
        <translation>宽度倍数：缩放每层的通道数和隐藏单元数（10 个输出不变）</translation>
    </message>
    <message>
        <source>Weight initialisation of the conv and fc layers: PyTorch&apos;s default, Xavier (Glorot) or Kaiming (He), biases zero</source>
        <translation>卷积层和全连接层的权重初始化：PyTorch 默认、Xavier (Glorot) 或 Kaiming (He)，偏置为零</translation>
    </message>
    <message>
        <source>ReLU</source>
        <translation>ReLU</translation>
    </message>
    <message>
        <source>Tanh</source>
        <translation>Tanh</translation>
    </message>
    <message>
        <source>Sigmoid</source>
        <translation>Sigmoid</translation>
    </message>
    <message>
        <source>LeakyReLU</source>
        <translation>LeakyReLU</translation>
    </message>
    <message>
        <source>Max</source>
        <translation>最大</translation>
    </message>
    <message>
        <source>Average</source>
        <translation>平均</translation>
    </message>
    <message>
        <source>Default</source>
        <translation>默认</translation>
    </message>
    <message>
        <source>Xavier</source>
        <translation>Xavier</translation>
    </message>
    <message>
        <source>Kaiming</source>
        <translation>Kaiming</translation>
    </message>
    <message>
        <source>Adam</source>
        <translation>Adam</translation>
    </message>
    <message>
        <source>AdamW</source>
        <translation>AdamW</translation>
    </message>
    <message>
        <source>SGD + momentum</source>
        <translation>SGD + 动量</translation>
    </message>
    <message>
        <source>OneCycle</source>
        <translation>OneCycle</translation>
    </message>
    <message>
        <source>Cosine</source>
        <translation>余弦</translation>
    </message>
    <message>
        <source>Step</source>
        <translation>阶梯</translation>
    </message>
    <message>
        <source>Constant</source>
        <translation>恒定</translation>
    </message>
    <message>
        <source>Auto</source>
        <translation>自动</translation>
    </message>
    <message>
        <source>Train on the first N MNIST training images: fewer is faster, for a quick demo</source>
        <translation>用前 N 张 MNIST 训练图像训练：越少越快，适合快速演示</translation>
    </message>
    <message>
        <source>BatchNorm</source>
        <translation>批归一化</translation>
    </message>
    <message>
        <source>Augment</source>
        <translation>数据增强</translation>
    </message>
    <message>
        <source>Mild random affine distortions of every batch (±10°, ±10% scale, ±2 px shift): slower to reach a given MNIST accuracy, better on real handwriting</source>
        <translation>对每个批次做轻微的随机仿射变形（±10°、±10% 缩放、±2 px 平移）：达到同样的 MNIST 准确率更慢，但对真实手写更好</translation>
    </message>
    <message>
        <source>Random seed: the same seed and settings train the same network again</source>
        <translation>随机种子：相同的种子和设置会再次训练出相同的网络</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Activation</source>
        <translation>激活函数</translation>
    </message>
    <message>
        <source>Pooling</source>
        <translation>池化</translation>
    </message>
    <message>
        <source>Dropout</source>
        <translation>Dropout</translation>
    </message>
    <message>
        <source>Width</source>
        <translation>宽度</translation>
    </message>
    <message>
        <source>Init</source>
        <translation>初始化</translation>
    </message>
    <message>
        <source>Epochs</source>
        <translation>轮次</translation>
    </message>
    <message>
        <source>Training images</source>
        <translation>训练图像数</translation>
    </message>
    <message>
        <source>Batch size</source>
        <translation>批大小</translation>
    </message>
    <message>
        <source>Learning rate</source>
        <translation>学习率</translation>
    </message>
    <message>
        <source>Seed</source>
        <translation>种子</translation>
    </message>
    <message>
        <source>Optimizer</source>
        <translation>优化器</translation>
    </message>
    <message>
        <source>Schedule</source>
        <translation>调度</translation>
    </message>
    <message>
        <source>Weight decay</source>
        <translation>权重衰减</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>设备</translation>
    </message>
    <message>
        <source>Train</source>
        <translation>训练</translation>
    </message>
    <message>
        <source>Train a fresh model on MNIST (Ctrl+T)</source>
        <translation>在 MNIST 上训练一个新模型 (Ctrl+T)</translation>
    </message>
    <message>
        <source>Resume run…</source>
        <translation>继续训练…</translation>
    </message>
    <message>
        <source>Continue a saved run from its checkpoint, where it stopped (Ctrl+Shift+T)</source>
        <translation>从检查点接着停止处继续已保存的训练 (Ctrl+Shift+T)</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
    <message>
        <source>Pause or continue the run (Ctrl+P)</source>
        <translation>暂停或继续训练 (Ctrl+P)</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <source>Stop after this batch; the last whole epoch is what is kept (Ctrl+.)</source>
        <translation>在本批次后停止；保留最后一个完整轮次 (Ctrl+.)</translation>
    </message>
    <message>
        <source>Ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <source>Loss per batch</source>
        <translation>每批次损失</translation>
    </message>
    <message>
        <source>step</source>
        <translation>步</translation>
    </message>
    <message>
        <source>raw</source>
        <translation>原始</translation>
    </message>
    <message>
        <source>smoothed</source>
        <translation>平滑</translation>
    </message>
    <message>
        <source>Accuracy per epoch</source>
        <translation>每轮准确率</translation>
    </message>
    <message>
        <source>epoch</source>
        <translation>轮次</translation>
    </message>
    <message>
        <source>train</source>
        <translation>训练集</translation>
    </message>
    <message>
        <source>test</source>
        <translation>测试集</translation>
    </message>
    <message>
        <source>The training step the views show (the replay)</source>
        <translation>各视图显示的训练步（回放）</translation>
    </message>
    <message>
        <source>{model} {reason}.</source>
        <translation>{model} {reason}。</translation>
    </message>
    <message>
        <source>Resuming {model} after epoch {done} of {epochs}…</source>
        <translation>正在从第 {done}/{epochs} 轮之后继续训练 {model}…</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>继续</translation>
    </message>
    <message>
        <source>Paused — {status}</source>
        <translation>已暂停 — {status}</translation>
    </message>
    <message>
        <source>Training {model} ({params} parameters) on {device}: {images} images, {batches} batches per epoch</source>
        <translation>正在 {device} 上训练 {model}（{params} 个参数）：{images} 张图像，每轮 {batches} 个批次</translation>
    </message>
    <message>
        <source>Resumed at epoch {epoch}: {training}</source>
        <translation>从第 {epoch} 轮继续：{training}</translation>
    </message>
    <message>
        <source>Epoch {epoch}/{epochs} · batch {batch}/{batches} · loss {loss} · {speed} samples/s · ETA {eta}</source>
        <translation>轮次 {epoch}/{epochs} · 批次 {batch}/{batches} · 损失 {loss} · {speed} 样本/秒 · 剩余 {eta}</translation>
    </message>
    <message>
        <source>{model} as saved: {epochs} epochs, the accuracy of each and its mean loss (the file keeps no per-batch loss).</source>
        <translation>已保存的 {model}：共 {epochs} 轮，显示每轮的准确率和平均损失（文件中不保存每批的损失）。</translation>
    </message>
</context>
<context>
    <name>TrainingTab</name>
    <message>
        <source>&amp;Train</source>
        <translation>训练(&amp;T)</translation>
    </message>
    <message>
        <source>&amp;Resume training…</source>
        <translation>继续训练(&amp;R)…</translation>
    </message>
    <message>
        <source>Continue a saved run from its checkpoint</source>
        <translation>从检查点继续已保存的训练</translation>
    </message>
    <message>
        <source>&amp;Pause / resume</source>
        <translation>暂停/继续(&amp;P)</translation>
    </message>
    <message>
        <source>&amp;Stop</source>
        <translation>停止(&amp;S)</translation>
    </message>
    <message>
        <source>Training</source>
        <translation>训练</translation>
    </message>
    <message>
        <source>Preparing {model}…</source>
        <translation>正在准备 {model}…</translation>
    </message>
    <message>
        <source>A run is in progress: stop it before resuming another.</source>
        <translation>正在训练：请先停止它，再继续另一次训练。</translation>
    </message>
    <message>
        <source>Resuming {model} at epoch {epoch} of {epochs}…</source>
        <translation>正在从第 {epoch}/{epochs} 轮继续训练 {model}…</translation>
    </message>
    <message>
        <source>Fine-tuning {checkpoint}: {epochs} epoch(s) at learning rate {lr}, {dataset}. {training}</source>
        <translation>正在微调 {checkpoint}：{epochs} 轮，学习率 {lr}，{dataset}。{training}</translation>
    </message>
    <message>
        <source>Training {model}; the prediction follows its weights live.</source>
        <translation>正在训练 {model}；预测实时跟随其权重。</translation>
    </message>
</context>
<context>
    <name>WantsView</name>
    <message>
        <source>Find what excites each channel</source>
        <translation>查找激发各通道的输入</translation>
    </message>
    <message>
        <source>Gradient ascent from a blank input, and a pass over the 10,000 MNIST test digits; computed in the background</source>
        <translation>从空白输入做梯度上升，并遍历 10,000 个 MNIST 测试数字；在后台计算</translation>
    </message>
    <message>
        <source>Layer</source>
        <translation>层</translation>
    </message>
    <message>
        <source>Left: the input the channel responds to most, found by gradient ascent, where the channel looks (its receptive field). Right: the nine MNIST test patches it responds to most, strongest first.</source>
        <translation>左：通道响应最强的输入，由梯度上升求得，显示在通道所看的区域（其感受野）内。右：它响应最强的九个 MNIST 测试图块，由强到弱。</translation>
    </message>
    <message>
        <source>classes (logits)</source>
        <translation>类别（logits）</translation>
    </message>
    <message>
        <source>Finding what excites each channel of {layer}…</source>
        <translation>正在查找激发 {layer} 各通道的输入…</translation>
    </message>
    <message>
        <source>The weights have changed since: these pictures are of the earlier ones.</source>
        <translation>权重已改变：这些图对应的是之前的权重。</translation>
    </message>
    <message>
        <source>class {channel}</source>
        <translation>类别 {channel}</translation>
    </message>
    <message>
        <source>channel {channel}</source>
        <translation>通道 {channel}</translation>
    </message>
    <message>
        <source>{count} channels of {layer} in {seconds:.1f} s.</source>
        <translation>{layer} 的 {count} 个通道，用时 {seconds:.1f} 秒。</translation>
    </message>
</context>
</TS>
